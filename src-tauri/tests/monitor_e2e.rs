//! End to end through the real desktop window, as desktop_e2e.rs (Xvfb + tauri-driver +
//! WebKitWebDriver driving the `simba-tuner-app` that `cargo test` just built): the Redis and
//! Database pages on private harness servers with a known workload, whose figures the pages must
//! show. Saves docs/screenshots/redis.png and docs/screenshots/database.png for the README.
//!
//! Needs Xvfb (without a display), WebKitWebDriver, tauri-driver, redis-server and redis-cli, and
//! the PostgreSQL 18 binaries: `bash .ci/setup test`.

// Each window test uses a part of support/.
#[allow(dead_code)]
mod support;

use fantoccini::{Client, Locator};
use std::path::Path;
use std::time::{Duration, Instant};
use support::page::{click, css, screenshot, text_of, texts_of, type_into, wait_until};
use support::{Folders, Session};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");

/// Runs redis-cli with one command per line on the private server.
fn redis_cli(port: u16, script: &str) -> Result<(), String> {
    use std::io::Write;
    let mut cli = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    cli.stdin.take().unwrap().write_all(script.as_bytes()).map_err(|e| format!("redis-cli: {e}"))?;
    cli.wait().map_err(|e| format!("redis-cli: {e}"))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_database_pages_show_a_known_workload() {
    let folders = Folders::new();

    // Redis: 300 keys under `orders:` without a TTL, 200 under `sessions:` with one, and one slow
    // script (a busy loop well over SLOWLOG's 20 ms threshold; the report's own commands stay under it).
    let redis = simba_testkit::RedisServer::start_with(&["--slowlog-log-slower-than", "20000", "--maxmemory", "64mb"])
        .expect("private Redis (bash .ci/setup test)");
    let mut script = String::new();
    for i in 0..300 {
        script.push_str(&format!("SET orders:{i} order-{i}-{}\n", "x".repeat(100)));
    }
    for i in 0..200 {
        script.push_str(&format!("SET sessions:{i} s{i} EX 3600\n"));
    }
    script.push_str("EVAL \"local i = 0 while i < 5000000 do i = i + 1 end return i\" 0\n");
    redis_cli(redis.port(), &script).expect("Redis workload");

    // PostgreSQL: a 20,000-row table read by sequential scans, and a slow statement.
    let pg = simba_testkit::PostgresServer::start().expect("private PostgreSQL 18 (bash .ci/setup test)");
    pg.psql(
        "create table e2e_orders (id serial primary key, customer int, total numeric); \
         insert into e2e_orders (customer, total) select g % 1000, (g % 100) from generate_series(1, 20000) g; \
         analyze e2e_orders; \
         select count(*) from e2e_orders where total > 50; \
         select count(*) from e2e_orders where total > 60; \
         select count(*) from e2e_orders where total > 70; \
         select pg_sleep(1);",
    )
    .expect("PostgreSQL workload");

    let session = Session::launch(
        APP,
        &folders,
        &[("SIMBA_REDIS_URL", Path::new(&redis.url())), ("SIMBA_POSTGRES_URL", Path::new(&pg.url()))],
    )
    .await;
    let (client, driver) = (&session.client, &session.driver);
    let mut result = redis_page(client, redis.port()).await;
    if result.is_ok() {
        result = database_page(client).await;
    }
    let _ = client.clone().close().await;
    if let Err(message) = result {
        panic!("{message}\ndriver log:\n{}", driver.log_tail(40));
    }
}

async fn redis_page(client: &Client, port: u16) -> Result<(), String> {
    // The window opens before its page has loaded: wait for the navigation.
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.find(Locator::Css(&css("nav-redis"))).await.is_err() {
        if Instant::now() > deadline {
            return Err("no Redis entry in the navigation within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    click(client, "nav-redis").await?;
    // The `env` profile is the only one with a Redis URL: the page picks it.
    wait_until(client, "redis-profile", Duration::from_secs(20), "no Redis profile offered", |t| t.contains("env"))
        .await?;
    let rows = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rows = texts_of(client, "prefix-row").await;
            if rows.len() >= 2 {
                break rows;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no memory-by-prefix rows; error-box: {:?}",
                    text_of(client, "error-box").await.unwrap_or_default()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    eprintln!("prefix rows: {rows:?}");
    // Every key was read (500 keys, under the sampling budget): the counts are exact.
    let orders = rows.iter().find(|r| r.starts_with("orders:")).ok_or_else(|| format!("no orders: row in {rows:?}"))?;
    if !(orders.contains("| 300 |") && orders.contains("exact") && orders.ends_with("300 (100.0%)")) {
        return Err(format!("orders: should be 300 keys, exact, all without TTL: {orders:?}"));
    }
    let sessions =
        rows.iter().find(|r| r.starts_with("sessions:")).ok_or_else(|| format!("no sessions: row in {rows:?}"))?;
    if !(sessions.contains("| 200 |") && sessions.ends_with("| 0 (0.0%)")) {
        return Err(format!("sessions: should be 200 keys, all with a TTL: {sessions:?}"));
    }
    let keyspace = text_of(client, "redis-keyspace").await.unwrap_or_default();
    if !keyspace.contains("500") {
        return Err(format!("the keyspace does not show 500 keys: {keyspace:?}"));
    }

    // A known number of hits and misses between two refreshes: the interval hit rate is exact. No
    // auto-refresh meanwhile, or a report between the GETs and the click would take them.
    click(client, "redis-auto").await?;
    let mut script = String::new();
    for i in 0..80 {
        script.push_str(&format!("GET orders:{i}\n"));
    }
    for i in 0..20 {
        script.push_str(&format!("GET missing:{i}\n"));
    }
    redis_cli(port, &script)?;
    click(client, "redis-refresh").await?;
    let tile = wait_until(client, "tile-hit-rate", Duration::from_secs(20), "the interval hit rate", |t| {
        t.contains("80 hits, 20 misses")
    })
    .await?;
    if !tile.contains("80.0%") {
        return Err(format!("80 hits and 20 misses should read 80.0%: {tile:?}"));
    }
    let slowlog = texts_of(client, "slowlog-row").await;
    if !slowlog.iter().any(|r| r.contains("EVAL")) {
        return Err(format!("SLOWLOG should list the slow script: {slowlog:?}"));
    }
    let memory = text_of(client, "tile-memory").await.unwrap_or_default();
    if !memory.contains("of maxmemory 64.0 MiB") {
        return Err(format!("the memory tile should compare with maxmemory 64 MiB: {memory:?}"));
    }

    // History: the page asked about this profile, so the app's sampler reads it from the next round
    // on; the page shows the sampler's count and the hit-rate chart.
    wait_until(client, "sampler-status", Duration::from_secs(60), "the sampler never read the page's profile", |t| {
        t.contains("sampling every") && !t.contains("(0 samples")
    })
    .await?;
    if text_of(client, "chart-hit_rate").await.is_none() {
        return Err("no hit-rate chart on the Redis page".into());
    }
    screenshot(client, "redis.png").await
}

async fn database_page(client: &Client) -> Result<(), String> {
    click(client, "nav-database").await?;
    wait_until(client, "db-profile", Duration::from_secs(20), "no PostgreSQL profile offered", |t| t.contains("env"))
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let orders = loop {
        let rows = texts_of(client, "table-heavy-seq").await;
        if let Some(r) = rows.into_iter().find(|r| r.contains("public.e2e_orders")) {
            break r;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "e2e_orders is not marked for sequential scans; tables: {:?}; error-box: {:?}",
                text_of(client, "pg-tables").await.unwrap_or_default(),
                text_of(client, "error-box").await.unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!("e2e_orders row: {orders:?}");
    if !orders.contains("20,000") {
        return Err(format!("e2e_orders should show 20,000 rows: {orders:?}"));
    }
    let statements = texts_of(client, "statement-row").await;
    let sleep = statements
        .iter()
        .find(|r| r.contains("pg_sleep"))
        .ok_or_else(|| format!("the slow statement is not listed: {statements:?}"))?;
    if statements.first() != Some(sleep) {
        return Err(format!("pg_sleep(1) should be the slowest per call: {statements:?}"));
    }

    // Explain a pasted statement: a tree with its slowest node marked.
    type_into(client, "explain-sql", "select count(*) from e2e_orders where total > 50").await?;
    click(client, "explain-run").await?;
    let slowest =
        wait_until(client, "plan-slowest", Duration::from_secs(30), "no slowest node", |t| t.contains("slowest"))
            .await?;
    if !slowest.contains("e2e_orders") && !slowest.contains("Aggregate") {
        return Err(format!("the slowest node should be the scan of e2e_orders or its aggregate: {slowest:?}"));
    }
    let summary = text_of(client, "plan-summary").await.unwrap_or_default();
    if !summary.contains("execution") {
        return Err(format!("no execution time: {summary:?}"));
    }
    screenshot(client, "database.png").await?;

    // A statement that writes is refused before it reaches the server.
    type_into(client, "explain-sql", "delete from e2e_orders").await?;
    click(client, "explain-run").await?;
    wait_until(client, "explain-refused", Duration::from_secs(20), "the delete was not refused", |t| {
        t.contains("Not run")
    })
    .await?;
    let count = text_of(client, "pg-tables").await.unwrap_or_default();
    if !count.contains("20,000") {
        return Err(format!("after the refused delete the table should still hold 20,000 rows: {count:?}"));
    }
    wait_until(client, "sampler-status", Duration::from_secs(60), "the sampler never read the page's profile", |t| {
        t.contains("sampling every") && !t.contains("(0 samples")
    })
    .await?;
    Ok(())
}
