//! `simba-tuner db` against a real PostgreSQL 18 after a known workload: the figures must be
//! what pg_stat_statements, pg_stat_user_tables and pg_stat_user_indexes themselves give.

mod common;

use common::Cli;
use serde_json::Value;
use simba_testkit::PostgresServer;
use sqlx::{Connection, Executor, PgConnection};
use std::time::Duration;

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|x| x[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list:#}"))
}

#[tokio::test]
async fn report_shows_the_workload_with_the_servers_own_figures() {
    let pg = PostgresServer::start().unwrap();
    pg.psql(
        "CREATE TABLE accounts(id int PRIMARY KEY, balance int NOT NULL, branch int NOT NULL);
         INSERT INTO accounts SELECT g, 0, g % 10 FROM generate_series(1, 10000) g;
         CREATE INDEX accounts_branch_idx ON accounts(branch);
         CREATE TABLE events(id int, kind text);
         INSERT INTO events SELECT g, 'k' || (g % 5) FROM generate_series(1, 1000) g;
         CREATE INDEX events_kind_a ON events(kind);
         CREATE INDEX events_kind_b ON events(kind);
         CREATE TABLE docs(id int PRIMARY KEY, embedding vector(8), draft vector(8));
         INSERT INTO docs SELECT g, array_fill(g::real, ARRAY[8])::vector, array_fill(1::real, ARRAY[8])::vector
           FROM generate_series(1, 300) g;
         CREATE INDEX docs_ivf ON docs USING ivfflat (embedding vector_l2_ops) WITH (lists = 10);
         CREATE INDEX docs_hnsw ON docs USING hnsw (embedding vector_cosine_ops) WITH (m = 8, ef_construction = 32);
         ANALYZE;
         SELECT pg_stat_statements_reset();",
    )
    .unwrap();
    // pgbench-like statements, 20 times each, and a query that can only scan the table.
    let mut work = PgConnection::connect(&pg.url()).await.unwrap();
    for i in 1..=20 {
        sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
            .bind(i)
            .bind(i * 7)
            .execute(&mut work)
            .await
            .unwrap();
        let _: (i32,) = sqlx::query_as("SELECT balance FROM accounts WHERE id = $1")
            .bind(i * 7)
            .fetch_one(&mut work)
            .await
            .unwrap();
    }
    for i in 0..5 {
        let _: (i64,) = sqlx::query_as("SELECT count(*) FROM accounts WHERE balance > $1")
            .bind(i)
            .fetch_one(&mut work)
            .await
            .unwrap();
    }
    work.close().await.unwrap(); // a closing backend flushes its statistics

    // An idle-in-transaction session that holds a lock, and one blocked behind it.
    let mut holder = PgConnection::connect(&pg.url()).await.unwrap();
    holder.execute("BEGIN; LOCK TABLE events IN SHARE MODE").await.unwrap();
    let holder_pid: i32 = {
        let mut c = PgConnection::connect(&pg.url()).await.unwrap();
        let pid = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE state = 'idle in transaction'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        pid
    };
    let url = pg.url();
    let waiter = tokio::spawn(async move {
        let mut c = PgConnection::connect(&url).await.unwrap();
        let _ = sqlx::query("UPDATE events SET kind = kind WHERE id = 1").execute(&mut c).await;
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let cli = Cli::new();
    let r = cli.json(&["db", "--postgres", &pg.url(), "--long-query-seconds", "0.5", "--top", "50", "--json"]);

    assert!(r["version"].as_str().unwrap().starts_with("18"));
    assert_eq!(r["superuser"], true);
    assert_eq!(r["local"], true);
    assert!(r["server_memory"]["bytes"].as_u64().unwrap() > 0);

    // Settings with their units.
    let sb = find(&r["settings"], "name", "shared_buffers");
    assert_eq!(sb["unit"], "8kB");
    assert_eq!(sb["bytes"].as_i64().unwrap(), sb["setting"].as_str().unwrap().parse::<i64>().unwrap() * 8192);
    assert_eq!(find(&r["settings"], "name", "max_connections")["value"], "50");
    assert_eq!(r["settings"].as_array().unwrap().len(), 10);
    assert_eq!(find(&r["settings"], "name", "log_statement")["unit"], Value::Null);

    // Statements: calls and times as pg_stat_statements has them.
    assert!(r["statements_problem"].is_null(), "{}", r["statements_problem"]);
    let st = &r["statements"];
    assert!(st["stats_reset"].is_string());
    let by_total = st["by_total"].as_array().unwrap();
    let update = by_total
        .iter()
        .find(|s| s["query"].as_str().unwrap().starts_with("UPDATE accounts SET balance"))
        .unwrap_or_else(|| panic!("{by_total:#?}"));
    assert_eq!(update["calls"], 20);
    assert_eq!(update["rows"], 20);
    let mut c = PgConnection::connect(&pg.url()).await.unwrap();
    let (calls, total): (i64, f64) = sqlx::query_as(
        "SELECT calls, total_exec_time + total_plan_time FROM pg_stat_statements WHERE query LIKE 'UPDATE accounts SET balance%'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(calls, 20);
    assert!((update["total_ms"].as_f64().unwrap() - total).abs() < 1e-6);
    assert!((update["mean_ms"].as_f64().unwrap() - total / 20.0).abs() < 1e-6);
    let means: Vec<f64> = st["by_mean"].as_array().unwrap().iter().map(|s| s["mean_ms"].as_f64().unwrap()).collect();
    assert!(means.windows(2).all(|w| w[0] >= w[1]), "{means:?}");
    let totals: Vec<f64> = by_total.iter().map(|s| s["total_ms"].as_f64().unwrap()).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let hit = update["shared_hit_ratio"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&hit));

    // Sessions: the idle transaction, the blocked update and who blocks it.
    let conn = &r["connections"];
    assert_eq!(conn["max_connections"], 50);
    assert_eq!(conn["idle_in_transaction"], 1, "{conn}");
    assert!(conn["oldest_idle_in_transaction_seconds"].as_f64().unwrap() >= 1.0);
    assert_eq!(find(&conn["by_state"], "state", "active")["count"], 1);
    let blocked = r["blocked"].as_array().unwrap();
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0]["blocked_by"], serde_json::json!([holder_pid]));
    assert!(blocked[0]["query"].as_str().unwrap().starts_with("UPDATE events"));
    assert_eq!(r["blocking"][0]["pid"], holder_pid);
    assert_eq!(r["blocking"][0]["state"], "idle in transaction");
    let long = r["long_running"].as_array().unwrap();
    assert!(long.iter().any(|s| s["pid"] == blocked[0]["pid"] && s["seconds"].as_f64().unwrap() >= 0.5));

    // Tables and indexes as pg_stat_user_tables / pg_stat_user_indexes count them.
    let (seq, idx, live, dead): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT seq_scan, idx_scan, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relname = 'accounts'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    let accounts = find(&r["tables"], "name", "accounts");
    assert_eq!(accounts["seq_scan"].as_i64().unwrap(), seq);
    assert!(seq >= 5);
    assert_eq!(accounts["idx_scan"].as_i64().unwrap(), idx);
    assert!(idx >= 40);
    assert_eq!(accounts["rows"].as_i64().unwrap(), live);
    assert_eq!(live, 10_000);
    assert!(accounts["total_bytes"].as_i64().unwrap() > accounts["table_bytes"].as_i64().unwrap());
    assert_eq!(accounts["dead_rows"].as_i64().unwrap(), dead);
    let pkey_scans: i64 =
        sqlx::query_scalar("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'accounts_pkey'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(find(&r["indexes"], "name", "accounts_pkey")["scans"], pkey_scans);
    let unused: Vec<&str> =
        r["unused_indexes"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(unused.contains(&"accounts_branch_idx"), "{unused:?}");
    assert!(!unused.contains(&"accounts_pkey") && !unused.contains(&"docs_pkey"));
    let dups = r["duplicate_indexes"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(dups[0]["table"], "events");
    let names: Vec<&str> = dups[0]["indexes"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["events_kind_a", "events_kind_b"]);

    // pgvector: both columns, the indexes with their parameters, the search settings.
    let v = &r["vector"];
    assert!(r["vector_problem"].is_null());
    assert_eq!(v["ivfflat_probes"], "1");
    assert_eq!(v["hnsw_ef_search"], "40");
    let emb = find(&v["columns"], "column", "embedding");
    assert_eq!(emb["dimension"], 8);
    assert_eq!(emb["rows"], 300);
    let ivf = find(&emb["indexes"], "name", "docs_ivf");
    assert_eq!((ivf["method"].as_str(), ivf["lists"].as_i64()), (Some("ivfflat"), Some(10)));
    assert_eq!(ivf["opclass"], "vector_l2_ops");
    let hnsw = find(&emb["indexes"], "name", "docs_hnsw");
    assert_eq!((hnsw["m"].as_i64(), hnsw["ef_construction"].as_i64()), (Some(8), Some(32)));
    assert_eq!(hnsw["opclass"], "vector_cosine_ops");
    assert_eq!(find(&v["columns"], "column", "draft")["indexes"], serde_json::json!([]));
    assert_eq!(v["columns_without_index"], serde_json::json!(["public.docs.draft"]));

    // The text form.
    let out = cli.run(&["db", "--postgres", &pg.url()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("accounts_branch_idx") && text.contains("docs.draft"), "{text}");

    holder.execute("ROLLBACK").await.unwrap();
    waiter.await.unwrap();
}

#[tokio::test]
async fn missing_extensions_and_missing_permissions_are_explained() {
    let pg = PostgresServer::start().unwrap();
    pg.psql("CREATE DATABASE bare").unwrap();
    pg.psql(
        "CREATE ROLE watcher LOGIN;
         REVOKE SELECT ON pg_stat_statements FROM PUBLIC;
         REVOKE SELECT ON pg_settings FROM PUBLIC;
         CREATE TABLE t(id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);
         GRANT SELECT ON t TO watcher;",
    )
    .unwrap();
    let cli = Cli::new();

    // A database without pg_stat_statements or pgvector installed.
    let bare = format!("postgres://postgres@127.0.0.1:{}/bare", pg.port());
    let r = cli.json(&["db", "--postgres", &bare, "--json"]);
    let why = r["statements_problem"].as_str().unwrap();
    assert!(why.contains("not installed in this database") && why.contains("CREATE EXTENSION pg_stat_statements"));
    assert!(r["vector_problem"].as_str().unwrap().contains("CREATE EXTENSION vector"));
    assert!(r["settings_problem"].is_null());

    // A non-superuser without SELECT on pg_stat_statements or pg_settings: said, and the rest works.
    let watcher = format!("postgres://watcher@127.0.0.1:{}/postgres", pg.port());
    let r = cli.json(&["db", "--postgres", &watcher, "--json"]);
    assert_eq!(r["superuser"], false);
    let why = r["statements_problem"].as_str().unwrap();
    assert!(why.contains("may not read pg_stat_statements") && why.contains("pg_read_all_stats"), "{why}");
    let why = r["settings_problem"].as_str().unwrap();
    assert!(why.contains("may not read pg_settings"), "{why}");
    assert_eq!(find(&r["settings"], "name", "work_mem")["value"], "4MB");
    assert_eq!(r["connections"]["max_connections"], 50);
    assert_eq!(find(&r["tables"], "name", "t")["rows"], 10);
    assert!(r["vector"]["columns"].as_array().unwrap().is_empty());

    // A server that is not there.
    let port = simba_testkit::free_port();
    let out = cli.run(&["db", "--postgres", &format!("postgres://x:secret-pw@127.0.0.1:{port}/db"), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("unreachable") && !all.contains("secret-pw"), "{all}");
}
