//! `simba-tuner status` against real Redis and PostgreSQL servers after a known workload: the
//! figures must match what Redis INFO and pg_stat_statements themselves report.

mod common;

use common::{info_field, Cli};
use redis::AsyncCommands;
use simba_testkit::{PostgresServer, RedisServer};
use sqlx::Connection;

async fn redis_workload(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for i in 0..100 {
        let _: () = conn.set(format!("key:{i}"), i).await.unwrap();
    }
    let _: () = conn.set_ex("ttl:key", 1, 3600).await.unwrap();
    for i in 0..60 {
        let _: Option<i64> = conn.get(format!("key:{i}")).await.unwrap();
    }
    for i in 0..40 {
        let _: Option<i64> = conn.get(format!("missing:{i}")).await.unwrap();
    }
    conn
}

#[tokio::test]
async fn status_matches_redis_info_and_pg_stat_statements() {
    let redis_server = RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]).unwrap();
    let pg = PostgresServer::start().unwrap();
    let mut conn = redis_workload(&redis_server.url()).await;

    pg.psql("CREATE TABLE orders(id int primary key, total numeric); INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 5000) g;").unwrap();
    let mut pgc = sqlx::postgres::PgConnection::connect(&pg.url()).await.unwrap();
    for i in 0..25 {
        let _: (i32,) = sqlx::query_as("SELECT count(*)::int FROM orders WHERE total > $1")
            .bind(i as f64)
            .fetch_one(&mut pgc)
            .await
            .unwrap();
    }

    let cli = Cli::new();
    // All statements: on a busy machine the setup's own statements can outrank the workload by mean time.
    let report =
        cli.json(&["status", "--redis", &redis_server.url(), "--postgres", &pg.url(), "--top", "100", "--json"]);

    // Redis: compare with INFO read right after, through a separate client.
    let info: String = redis::cmd("INFO").query_async(&mut conn).await.unwrap();
    let r = &report["redis"];
    assert_eq!(r["state"], "ok", "{r}");
    let d = &r["data"];
    assert_eq!(d["keyspace_hits"], 60);
    assert_eq!(d["keyspace_misses"], 40);
    assert_eq!(d["keyspace_hits"].as_u64().unwrap(), info_field(&info, "keyspace_hits"));
    assert_eq!(d["hit_rate_lifetime"].as_f64().unwrap(), 0.6);
    assert_eq!(d["keys_total"], 101);
    assert_eq!(d["maxmemory_bytes"], 64 * 1024 * 1024);
    assert_eq!(d["maxmemory_policy"], "allkeys-lru");
    assert_eq!(d["databases"][0]["expires"], 1);
    let used = d["used_memory_bytes"].as_u64().unwrap();
    let used_now = info_field(&info, "used_memory");
    assert!(used > 0 && (used as f64 - used_now as f64).abs() / (used_now as f64) < 0.2, "{used} vs {used_now}");

    // PostgreSQL: the workload's statement with the calls pg_stat_statements counts.
    let p = &report["postgres"];
    assert_eq!(p["state"], "ok", "{p}");
    let d = &p["data"];
    assert!(d["version"].as_str().unwrap().starts_with("18"));
    assert!(d["statements_unavailable"].is_null());
    let stmts = d["top_statements"].as_array().unwrap();
    let ours = stmts
        .iter()
        .find(|s| s["query"].as_str().unwrap().contains("FROM orders WHERE total >"))
        .unwrap_or_else(|| panic!("workload statement not listed: {stmts:#?}"));
    assert_eq!(ours["calls"], 25);
    let (calls, mean): (i64, f64) = sqlx::query_as(
        "SELECT calls, mean_exec_time FROM pg_stat_statements WHERE query LIKE '%FROM orders WHERE total >%' AND query NOT LIKE '%pg_stat_statements%'",
    )
    .fetch_one(&mut pgc)
    .await
    .unwrap();
    assert_eq!(calls, 25);
    assert!((ours["mean_exec_ms"].as_f64().unwrap() - mean).abs() < 1e-6);
    // Sorted by mean time, slowest first.
    let means: Vec<f64> =
        stmts.iter().map(|s| s["mean_exec_ms"].as_f64().unwrap() + s["mean_plan_ms"].as_f64().unwrap()).collect();
    assert!(means.windows(2).all(|w| w[0] >= w[1]), "{means:?}");
    assert!(d["max_connections"].as_i64().unwrap() == 50);

    // The host and the engine are always there.
    assert!(report["host"]["memory_total_bytes"].as_u64().unwrap() > 0);
    assert!(report["engine"].is_object());
}

#[tokio::test]
async fn interval_hit_rate_covers_only_the_interval() {
    let server = RedisServer::start().unwrap();
    let mut conn = redis_workload(&server.url()).await; // 60 hits, 40 misses before
    let url = server.url();
    let cli = Cli::new();
    let child = cli
        .command()
        .args(["status", "--redis", &url, "--interval", "1.5", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // During the interval: 10 hits, 0 misses.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for i in 0..10 {
        let _: Option<i64> = conn.get(format!("key:{i}")).await.unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &report["redis"]["data"];
    assert_eq!(d["hit_rate_interval"].as_f64(), Some(1.0), "{d}");
    assert_eq!(d["hit_rate_lifetime"].as_f64(), Some(70.0 / 110.0));
}

#[test]
fn dead_servers_and_bad_urls_get_clear_errors() {
    let cli = Cli::new();
    let port = simba_testkit::free_port();
    let report = cli.json(&[
        "status",
        "--redis",
        &format!("redis://127.0.0.1:{port}/0"),
        "--postgres",
        &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        "--json",
    ]);
    assert_eq!(report["redis"]["state"], "error");
    assert_eq!(report["redis"]["error"]["code"], "unreachable");
    assert!(report["redis"]["error"]["message"].as_str().unwrap().contains(&port.to_string()));
    assert_eq!(report["postgres"]["state"], "error");
    assert_eq!(report["postgres"]["error"]["code"], "unreachable");
    // The rest of the report is still there.
    assert!(report["host"]["cpu_count"].as_u64().unwrap() >= 1);

    let pw = common::test_secret("hunter2");
    let out = cli.run(&["status", "--redis", &format!("http://:{pw}@127.0.0.1:6379"), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redis://"), "{err}");
    assert!(!err.contains(&pw) && !String::from_utf8_lossy(&out.stdout).contains(&pw), "{err}");

    let out = cli.run(&["status", "--profile", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile named 'nope'"));
}

#[tokio::test]
async fn profiles_keep_passwords_secret_and_work() {
    let pw = common::test_secret("pw");
    let server = RedisServer::start_with(&["--requirepass", &pw]).unwrap();
    let cli = Cli::new();
    let out = cli.run(&["profile", "add", "staging", "--read-only", "--redis", &server.url()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&pw));

    let list = cli.json(&["profile", "list", "--json"]);
    let text = list.to_string();
    assert!(!text.contains(&pw), "{text}");
    let staging = list.as_array().unwrap().iter().find(|p| p["name"] == "staging").unwrap();
    assert_eq!(staging["read_only"], true);
    assert_eq!(staging["endpoints"][0]["has_secret"], true);
    assert!(staging["endpoints"][0]["url"].as_str().unwrap().contains("***"));

    // The password is only in the private secrets file.
    let profiles_toml = std::fs::read_to_string(cli.config_dir().join("profiles.toml")).unwrap();
    assert!(!profiles_toml.contains(&pw));
    let secrets = std::fs::read_to_string(cli.config_dir().join("secrets.toml")).unwrap();
    assert!(secrets.contains(&pw));

    let report = cli.json(&["status", "--profile", "staging", "--json"]);
    assert_eq!(report["redis"]["state"], "ok", "{}", report["redis"]);
    assert_eq!(report["read_only"], true);

    // A wrong password is refused, and the message does not echo it.
    let wrong = common::test_secret("not-the-pw");
    let out =
        cli.run(&["profile", "add", "wrong", "--redis", &format!("redis://:{wrong}@127.0.0.1:{}/0", server.port())]);
    assert!(out.status.success());
    let report = cli.json(&["status", "--profile", "wrong", "--json"]);
    assert_eq!(report["redis"]["state"], "error");
    assert_eq!(report["redis"]["error"]["code"], "refused", "{}", report["redis"]);
    assert!(!report.to_string().contains(&wrong));
}
