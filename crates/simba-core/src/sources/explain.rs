//! EXPLAIN (ANALYZE, BUFFERS) of one statement in a READ ONLY transaction that is rolled back,
//! under a statement_timeout. A statement that could write is refused here, before it reaches the
//! server: ANALYZE runs it, and READ ONLY alone does not stop functions such as
//! pg_terminate_backend or setval.

use super::postgres::{connect, pg_error};
use super::{with_timeout, QUERY_TIMEOUT};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::profiles::Endpoint;
use serde::{Deserialize, Serialize};
use sqlx::{Connection, Executor};
use std::time::Duration;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ExplainReport {
    /// The statement as run.
    pub statement: String,
    pub planning_ms: f64,
    pub execution_ms: f64,
    pub plan: PlanNode,
    /// The path of child indexes from the root to the node with the most time of its own.
    pub slowest_path: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct PlanNode {
    /// `Seq Scan`, `Index Scan`, `Hash Join`, …
    pub node_type: String,
    pub relation: Option<String>,
    pub index: Option<String>,
    /// The planner's estimate and what happened (rows per loop, as EXPLAIN prints them).
    pub plan_rows: f64,
    pub actual_rows: f64,
    pub loops: f64,
    pub total_cost: f64,
    /// Time to the last row, over all loops, ms.
    pub total_ms: f64,
    /// total_ms less the children's: the time spent in this node itself.
    pub self_ms: f64,
    #[ts(type = "number")]
    pub shared_hit_blocks: i64,
    #[ts(type = "number")]
    pub shared_read_blocks: i64,
    /// Filter, index condition, join condition, sort key… as EXPLAIN words them.
    pub details: Vec<String>,
    /// The node with the most time of its own in the whole plan.
    pub slowest: bool,
    pub children: Vec<PlanNode>,
}

/// What a statement would do, as far as refusing writes goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    Read,
    /// Refused, with the reason.
    Write(String),
}

/// Words that make a statement (or a data-modifying CTE) write or lock.
const WRITE_WORDS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "merge",
    "truncate",
    "drop",
    "alter",
    "create",
    "grant",
    "revoke",
    "copy",
    "vacuum",
    "analyze",
    "reindex",
    "cluster",
    "refresh",
    "lock",
    "call",
    "do",
    "comment",
    "security",
    "import",
    "listen",
    "notify",
    "prepare",
    "execute",
    "set",
    "reset",
    "discard",
    "begin",
    "commit",
    "rollback",
    "savepoint",
    "checkpoint",
];

/// Functions that act even inside a READ ONLY transaction, or change state.
const WRITE_FUNCTIONS: &[&str] = &[
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_stat_reset",
    "pg_stat_reset_shared",
    "pg_stat_reset_single_table_counters",
    "pg_stat_statements_reset",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "pg_try_advisory_lock",
    "set_config",
    "setval",
    "nextval",
    "lo_import",
    "lo_export",
    "lo_unlink",
    "dblink",
    "dblink_exec",
    "pg_notify",
    "pg_logical_emit_message",
    "pg_read_file",
    "pg_read_binary_file",
];

/// The statement's words, lower-cased, with string literals, quoted names and comments removed.
fn words(sql: &str) -> (Vec<String>, bool) {
    let mut out = vec![];
    let mut word = String::new();
    let mut chars = sql.chars().peekable();
    let mut statements_after_semicolon = false;
    let mut seen_semicolon = false;
    let flush = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word).to_lowercase());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                flush(&mut word, &mut out);
                // '' and "" inside are doubled quotes: skipping to each closing quote handles them.
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                flush(&mut word, &mut out);
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                flush(&mut word, &mut out);
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            '$' if word.is_empty() => {
                // Dollar quoting: $tag$ … $tag$.
                let mut tag = String::from("$");
                while let Some(&d) = chars.peek() {
                    chars.next();
                    tag.push(d);
                    if d == '$' || !(d.is_alphanumeric() || d == '_') {
                        break;
                    }
                }
                if tag.ends_with('$') && tag.len() >= 2 {
                    let mut body = String::new();
                    for d in chars.by_ref() {
                        body.push(d);
                        if body.ends_with(&tag) {
                            break;
                        }
                    }
                }
            }
            ';' => {
                flush(&mut word, &mut out);
                seen_semicolon = true;
            }
            c if c.is_alphanumeric() || c == '_' => {
                if seen_semicolon {
                    statements_after_semicolon = true;
                }
                word.push(c)
            }
            c => {
                flush(&mut word, &mut out);
                if seen_semicolon && !c.is_whitespace() {
                    statements_after_semicolon = true;
                }
            }
        }
    }
    flush(&mut word, &mut out);
    (out, statements_after_semicolon)
}

/// Whether `sql` only reads. Conservative: a read that merely names a write word (a column called
/// `update`) is refused too, with the word, so the person can see why.
pub fn classify(sql: &str) -> Classified {
    let (words, several) = words(sql);
    if several {
        return Classified::Write("more than one statement: explain one at a time".into());
    }
    let Some(first) = words.first() else {
        return Classified::Write("the statement is empty".into());
    };
    if !["select", "with", "values", "table"].contains(&first.as_str()) {
        return Classified::Write(format!(
            "it starts with {}: only SELECT, WITH, VALUES and TABLE statements are explained with ANALYZE",
            first.to_uppercase()
        ));
    }
    for (i, w) in words.iter().enumerate() {
        if WRITE_WORDS.contains(&w.as_str()) {
            return Classified::Write(format!("it contains {}, which writes or locks", w.to_uppercase()));
        }
        if WRITE_FUNCTIONS.contains(&w.as_str()) {
            return Classified::Write(format!("it calls {w}(), which changes the server's state"));
        }
        if w == "into" && first == "select" {
            return Classified::Write("SELECT … INTO creates a table".into());
        }
        if w == "for" && matches!(words.get(i + 1).map(String::as_str), Some("update" | "share" | "no" | "key")) {
            return Classified::Write("FOR UPDATE/SHARE locks rows".into());
        }
    }
    Classified::Read
}

/// The tables a read names after FROM and JOIN (and in a FROM list), lower-cased, with their
/// schema when given (`public.orders`). Quoted names and string literals are skipped, so a result
/// reading a quoted table is only dropped by invalidating everything.
pub fn tables_named(sql: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut chars = sql.chars();
    while let Some(c) = chars.next() {
        if c == '\'' || c == '"' {
            word.clear();
            for d in chars.by_ref() {
                if d == c {
                    break;
                }
            }
            tokens.push("?".into());
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word).to_lowercase());
            }
            if c == ',' || c == '(' || c == ')' {
                tokens.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        tokens.push(word.to_lowercase());
    }
    // A FROM clause (with its joins) lasts until one of these; a comma inside it starts another
    // table (a comma in an ON condition may name a column as a table: harmless, it only drops a
    // result sooner).
    const ENDS_FROM: &[&str] =
        &["where", "group", "order", "limit", "having", "union", "window", ")", "offset", "fetch"];
    let mut out: Vec<String> = Vec::new();
    let mut in_from = false;
    let mut expect_name = false;
    for t in &tokens {
        let t = t.as_str();
        if t == "from" || t == "join" {
            in_from = true;
            expect_name = true;
            continue;
        }
        if expect_name {
            expect_name = false;
            if t != "("
                && t != "lateral"
                && t != "select"
                && t != "?"
                && !t.is_empty()
                && !t.starts_with(|c: char| c.is_ascii_digit())
                && !out.iter().any(|o| o == t)
            {
                out.push(t.to_string());
            }
            continue;
        }
        if in_from {
            if t == "," {
                expect_name = true;
            } else if ENDS_FROM.contains(&t) {
                in_from = false;
            }
        }
    }
    out
}

pub async fn explain(endpoint: &Endpoint, sql: &str, timeout: Duration) -> ApiResult<ExplainReport> {
    let statement = sql.trim().trim_end_matches(';').trim().to_string();
    if let Classified::Write(why) = classify(&statement) {
        return Err(ApiError::new(
            ErrorCode::ReadOnly,
            format!("not explained: {why}. EXPLAIN ANALYZE runs the statement, so only reads are accepted"),
        ));
    }
    let mut conn = connect(endpoint).await?;
    let display = endpoint.display.clone();
    let what = format!("PostgreSQL at {display}");
    let ms = timeout.as_millis().max(1);
    let result = with_timeout(&what, timeout + QUERY_TIMEOUT, async {
        let err = |e: sqlx::Error| pg_error(&display, &e);
        conn.execute("BEGIN READ ONLY").await.map_err(err)?;
        conn.execute(format!("SET LOCAL statement_timeout = {ms}").as_str()).await.map_err(err)?;
        let explained: Result<serde_json::Value, sqlx::Error> =
            sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}"))
                .fetch_one(&mut conn)
                .await;
        let _ = conn.execute("ROLLBACK").await;
        explained.map_err(err)
    })
    .await;
    let _ = conn.close().await;
    let json = result?;
    parse_plan(&statement, &json)
}

/// Builds the tree from EXPLAIN's JSON and marks the node with the most time of its own.
pub fn parse_plan(statement: &str, json: &serde_json::Value) -> ApiResult<ExplainReport> {
    let top = json.get(0).unwrap_or(json);
    let plan = top.get("Plan").ok_or_else(|| ApiError::internal("EXPLAIN gave no plan"))?;
    let mut root = node(plan);
    let mut path = vec![];
    let mut best = (f64::MIN, vec![]);
    find_slowest(&root, &mut path, &mut best);
    mark(&mut root, &best.1);
    Ok(ExplainReport {
        statement: statement.to_string(),
        planning_ms: top.get("Planning Time").and_then(|v| v.as_f64()).unwrap_or(0.0),
        execution_ms: top.get("Execution Time").and_then(|v| v.as_f64()).unwrap_or(0.0),
        plan: root,
        slowest_path: best.1,
    })
}

fn node(p: &serde_json::Value) -> PlanNode {
    let f = |k: &str| p.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
    let s = |k: &str| p.get(k).and_then(|v| v.as_str()).map(String::from);
    let children: Vec<PlanNode> =
        p.get("Plans").and_then(|v| v.as_array()).map(|a| a.iter().map(node).collect()).unwrap_or_default();
    let loops = f("Actual Loops").max(1.0);
    let total_ms = f("Actual Total Time") * loops;
    // Children of a parallel node report per-worker figures; never let self time go negative.
    let self_ms = (total_ms - children.iter().map(|c| c.total_ms).sum::<f64>()).max(0.0);
    let details = [
        "Filter",
        "Index Cond",
        "Recheck Cond",
        "Hash Cond",
        "Merge Cond",
        "Join Filter",
        "Sort Key",
        "Group Key",
        "Rows Removed by Filter",
    ]
    .iter()
    .filter_map(|k| {
        p.get(*k).map(|v| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            serde_json::Value::Array(a) => {
                format!("{k}: {}", a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
            }
            other => format!("{k}: {other}"),
        })
    })
    .collect();
    PlanNode {
        node_type: s("Node Type").unwrap_or_default(),
        relation: s("Relation Name"),
        index: s("Index Name"),
        plan_rows: f("Plan Rows"),
        actual_rows: f("Actual Rows"),
        loops,
        total_cost: f("Total Cost"),
        total_ms,
        self_ms,
        shared_hit_blocks: f("Shared Hit Blocks") as i64,
        shared_read_blocks: f("Shared Read Blocks") as i64,
        details,
        slowest: false,
        children,
    }
}

fn find_slowest(n: &PlanNode, path: &mut Vec<u32>, best: &mut (f64, Vec<u32>)) {
    if n.self_ms > best.0 {
        *best = (n.self_ms, path.clone());
    }
    for (i, c) in n.children.iter().enumerate() {
        path.push(i as u32);
        find_slowest(c, path, best);
        path.pop();
    }
}

fn mark(n: &mut PlanNode, path: &[u32]) {
    match path.split_first() {
        None => n.slowest = true,
        Some((i, rest)) => {
            if let Some(c) = n.children.get_mut(*i as usize) {
                mark(c, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_and_writes_are_refused() {
        for ok in [
            "SELECT * FROM t WHERE name = 'drop table x'",
            "  with a as (select 1) select * from a;",
            "VALUES (1), (2)",
            "TABLE accounts",
            "SELECT $$delete$$, \"update\" FROM t -- insert\n",
            "/* update */ SELECT 1",
        ] {
            assert_eq!(classify(ok), Classified::Read, "{ok}");
        }
        for (bad, why) in [
            ("UPDATE t SET a = 1", "starts with UPDATE"),
            ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "contains DELETE"),
            ("SELECT * INTO copy FROM t", "INTO creates a table"),
            ("SELECT * FROM t FOR UPDATE", "locks rows"),
            ("SELECT * FROM t FOR SHARE", "locks rows"),
            ("SELECT pg_terminate_backend(123)", "pg_terminate_backend"),
            ("SELECT nextval('s')", "nextval"),
            ("SELECT 1; DROP TABLE t", "more than one statement"),
            ("", "empty"),
            ("EXPLAIN SELECT 1", "starts with EXPLAIN"),
        ] {
            match classify(bad) {
                Classified::Write(reason) => assert!(reason.contains(why), "{bad}: {reason}"),
                Classified::Read => panic!("{bad} passed"),
            }
        }
    }

    #[test]
    fn tables_are_read_from_from_and_join() {
        assert_eq!(
            tables_named("SELECT o.id FROM public.Orders o JOIN customers c ON c.id = o.cid, items WHERE x = 'from y'"),
            vec!["public.orders", "customers", "items"]
        );
        assert_eq!(tables_named("select * from a, b where a.id = b.id"), vec!["a", "b"]);
        assert_eq!(tables_named("with t as (select * from events) select count(*) from t"), vec!["events", "t"]);
    }

    #[test]
    fn the_slowest_node_is_marked() {
        let json = serde_json::json!([{
            "Plan": {"Node Type": "Hash Join", "Actual Total Time": 10.0, "Actual Loops": 1, "Plan Rows": 5, "Actual Rows": 5,
                "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "a", "Actual Total Time": 7.0, "Actual Loops": 1, "Filter": "(x > 1)"},
                    {"Node Type": "Hash", "Actual Total Time": 2.0, "Actual Loops": 1,
                        "Plans": [{"Node Type": "Index Scan", "Index Name": "b_pkey", "Actual Total Time": 1.5, "Actual Loops": 1}]}
                ]},
            "Planning Time": 0.2, "Execution Time": 10.5
        }]);
        let r = parse_plan("SELECT …", &json).unwrap();
        assert_eq!(r.slowest_path, vec![0]);
        assert!(r.plan.children[0].slowest && !r.plan.slowest);
        assert_eq!(r.plan.self_ms, 1.0);
        assert_eq!(r.plan.children[0].details, vec!["Filter: (x > 1)".to_string()]);
        assert_eq!(r.execution_ms, 10.5);
    }
}
