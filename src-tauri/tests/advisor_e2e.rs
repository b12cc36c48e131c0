//! End to end through the real desktop window, as monitor_e2e.rs (Xvfb + tauri-driver +
//! WebKitWebDriver driving the `simba-tuner-app` that `cargo test` just built): the Advisor page
//! on private harness servers that are mistuned on purpose. A Redis used as a cache (every key has
//! a TTL) with maxmemory-policy noeviction, and a PostgreSQL that does not log slow statements
//! (log_min_duration_statement = -1, the default). The page lists both findings; each fix is
//! previewed (the exact statements), confirmed, applied, seen in the audit log with its before and
//! after values, then rolled back from the audit log. Every value is read from the servers
//! themselves (redis-cli CONFIG GET, psql SHOW), never through the app.
//!
//! Runs on throwaway data and config folders (the audit log is written there). Needs Xvfb (without
//! a display), WebKitWebDriver, tauri-driver, redis-server and redis-cli, and the PostgreSQL 18
//! binaries: `bash .ci/setup test`.

// Each window test uses a part of support/.
#[allow(dead_code)]
mod support;

use fantoccini::{Client, Locator};
use std::path::Path;
use std::time::{Duration, Instant};
use support::page::{click, css, page_text, text_of, texts_at, wait_for_selector, wait_for_text, wait_until};
use support::{Folders, Session};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");
const REDIS_FINDING: &str = "redis.noeviction_on_cache";
const PG_FINDING: &str = "pg.slow_log_off";
/// How long one advise, preview, apply or rollback may take on a busy 2-core machine.
// Generous: on a loaded CI machine a step has taken over 30 s (the app, its sampler and the
// advisor share two cores); a passing run takes about 5 s in all.
const STEP: Duration = Duration::from_secs(90);

/// Runs redis-cli with one command per line on the private server; returns its raw output.
fn redis_cli(port: u16, script: &str) -> Result<String, String> {
    use std::io::Write;
    let mut cli = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--raw"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    cli.stdin.take().unwrap().write_all(script.as_bytes()).map_err(|e| format!("redis-cli: {e}"))?;
    let out = cli.wait_with_output().map_err(|e| format!("redis-cli: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `CONFIG GET name` on the server itself.
fn redis_config(port: u16, name: &str) -> Result<String, String> {
    let out = redis_cli(port, &format!("CONFIG GET {name}\n"))?;
    let lines: Vec<&str> = out.lines().collect();
    match lines.as_slice() {
        [n, v] if *n == name => Ok(v.to_string()),
        _ => Err(format!("CONFIG GET {name} answered {out:?}")),
    }
}

/// `SHOW name` on the server itself, from a new session (it sees the reloaded configuration).
fn pg_show(pg: &simba_testkit::PostgresServer, name: &str) -> Result<String, String> {
    pg.psql(&format!("SHOW {name}")).map(|s| s.trim().to_string()).map_err(|e| format!("SHOW {name}: {e}"))
}

/// A finding's element by its id (`data-id`), and something inside it.
fn in_finding(id: &str, testid: &str) -> String {
    format!("[data-testid=\"finding\"][data-id=\"{id}\"] {}", css(testid))
}

/// Waits until the page reads nothing: a click is a pointer event at the element's position, and
/// findings or audit rows arriving meanwhile move the page under it (the click then lands elsewhere).
async fn settled(client: &Client) -> Result<(), String> {
    let idle = "[data-testid=\"advisor-body\"][data-busy=\"false\"]";
    wait_for_selector(client, idle, STEP, "the Advisor page is still reading").await
}

async fn click_at(client: &Client, selector: &str) -> Result<(), String> {
    settled(client).await?;
    let el = client.find(Locator::Css(selector)).await.map_err(|e| format!("nothing at {selector}: {e}"))?;
    el.click().await.map_err(|e| format!("cannot click {selector}: {e}"))
}

/// Polls until the server reads `want` (the app has answered by then, but a reload may lag).
async fn wait_value(what: &str, want: &str, read: impl Fn() -> Result<String, String>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = read()?;
        if now == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} reads {now:?} on the server, not {want:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The audit log's rows as (audit id, the row's text).
async fn audit_rows(client: &Client) -> Vec<(String, String)> {
    let script = "return Array.from(document.querySelectorAll('[data-testid=\"audit-row\"]')).map((el) => \
        [el.getAttribute('data-id'), Array.from(el.children).map((c) => c.textContent.trim()).join(' | ')]);";
    match client.execute(script, vec![]).await {
        Ok(serde_json::Value::Array(rows)) => rows
            .iter()
            .filter_map(|r| {
                let r = r.as_array()?;
                Some((r.first()?.as_str()?.to_string(), r.get(1)?.as_str()?.to_string()))
            })
            .collect(),
        _ => vec![],
    }
}

/// Waits for an audit row whose text `check` accepts; returns its id and text.
async fn wait_audit_row(client: &Client, what: &str, check: impl Fn(&str) -> bool) -> Result<(String, String), String> {
    let deadline = Instant::now() + STEP;
    loop {
        let rows = audit_rows(client).await;
        if let Some(row) = rows.iter().find(|(_, t)| check(t)) {
            return Ok(row.clone());
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: no such audit row after {STEP:?}; the log shows {rows:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The open flow: waits for its preview, checks the statements, ticks the confirmation, runs it and
/// waits for the audit entry it wrote; returns the flow's result text.
async fn confirm_and_run(client: &Client, statements: &[&str], what: &str) -> Result<String, String> {
    let shown =
        wait_until(client, "preview-statements", STEP, &format!("{what}: no preview"), |t| !t.is_empty()).await?;
    for s in statements {
        if !shown.contains(s) {
            return Err(format!("{what}: the preview should show `{s}`; it shows {shown:?}"));
        }
    }
    let run = client.find(Locator::Css(&css("flow-run"))).await.map_err(|e| format!("{what}: no run button: {e}"))?;
    if run.is_enabled().await.unwrap_or(true) {
        return Err(format!("{what}: the run button is enabled before the confirmation is ticked"));
    }
    settled(client).await?;
    click(client, "flow-confirm").await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !run.is_enabled().await.unwrap_or(false) {
        if Instant::now() > deadline {
            return Err(format!("{what}: the run button stays disabled after the tick"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    settled(client).await?;
    run.click().await.map_err(|e| format!("{what}: cannot click run: {e}"))?;
    // Twice the step: under a loaded CI machine an action and the advisor's rerun share two cores.
    let result =
        match wait_until(client, "audit-result", 2 * STEP, &format!("{what}: no audit entry"), |t| !t.is_empty()).await
        {
            Ok(r) => r,
            Err(e) => {
                // What the flow shows instead (still running, an error, or back to an unticked preview).
                let flow = text_of(client, "action-flow").await.unwrap_or_default();
                return Err(format!("{e}; the action flow shows: {flow:?}"));
            }
        };
    if !result.starts_with("applied") {
        let errors = text_of(client, "error-box").await.unwrap_or_default();
        return Err(format!("{what}: the outcome should be applied: {result:?}; error-box: {errors:?}"));
    }
    Ok(result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisor_applies_and_rolls_back_a_redis_and_a_postgres_fix() {
    let started = Instant::now();
    let folders = Folders::new();

    // Redis as a cache (every key has a TTL, so the advisor gives it the cache role) that refuses
    // writes when full instead of evicting.
    let redis = simba_testkit::RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "noeviction"])
        .expect("private Redis (bash .ci/setup test)");
    let mut script = String::new();
    for i in 0..200 {
        script.push_str(&format!("SET answers:{i} a{i} EX 3600\n"));
    }
    redis_cli(redis.port(), &script).expect("Redis workload");
    assert_eq!(redis_config(redis.port(), "maxmemory-policy").unwrap(), "noeviction");

    // PostgreSQL as initdb leaves it: slow statements are not logged. (Not set with `-c`: a
    // command-line setting outranks ALTER SYSTEM, and the fix could not take effect.)
    let pg = simba_testkit::PostgresServer::start().expect("private PostgreSQL 18 (bash .ci/setup test)");
    assert_eq!(pg_show(&pg, "log_min_duration_statement").unwrap(), "-1");

    let session = Session::launch(
        APP,
        &folders,
        &[
            // The `env` profile: these two servers, writable whatever this shell says.
            ("SIMBA_REDIS_URL", Path::new(&redis.url())),
            ("SIMBA_POSTGRES_URL", Path::new(&pg.url())),
            ("SIMBA_CELERY_BROKER_URL", Path::new("")),
            ("SIMBA_READ_ONLY", Path::new("")),
        ],
    )
    .await;
    let (client, driver) = (&session.client, &session.driver);
    let mut result = open_advisor(client).await;
    if result.is_ok() {
        result = redis_fix(client, redis.port()).await;
    }
    if result.is_ok() {
        result = postgres_fix(client, &pg).await;
    }
    let shown = if result.is_err() { page_text(client).await } else { String::new() };
    let _ = client.clone().close().await;
    if let Err(message) = result {
        panic!("{message}\nthe page shows: {shown}\ndriver log:\n{}", driver.log_tail(40));
    }
    eprintln!("advisor end to end: {:.1} s", started.elapsed().as_secs_f64());
}

/// Opens the Advisor page on the `env` profile and sees both findings.
async fn open_advisor(client: &Client) -> Result<(), String> {
    // The window opens before its page has loaded: wait for the navigation.
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.find(Locator::Css(&css("nav-advisor"))).await.is_err() {
        if Instant::now() > deadline {
            return Err("no Advisor entry in the navigation within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    click(client, "nav-advisor").await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let select = loop {
        match client.find(Locator::Css(&css("advisor-profile"))).await {
            Ok(s) if text_of(client, "advisor-profile").await.unwrap_or_default().contains("env") => break s,
            _ if Instant::now() > deadline => return Err("the Advisor page offers no `env` profile".into()),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    select.select_by_value("env").await.map_err(|e| format!("cannot choose the env profile: {e}"))?;

    let redis = wait_for_text(
        client,
        &format!("[data-testid=\"finding\"][data-id=\"{REDIS_FINDING}\"]"),
        STEP,
        "the Redis finding",
        |_| true,
    )
    .await?;
    for part in
        ["A cache that fails writes when full (maxmemory-policy noeviction)", "CONFIG SET maxmemory-policy allkeys-lru"]
    {
        if !redis.contains(part) {
            return Err(format!("the Redis finding should say {part:?}: {redis:?}"));
        }
    }
    let pg = wait_for_text(
        client,
        &format!("[data-testid=\"finding\"][data-id=\"{PG_FINDING}\"]"),
        STEP,
        "the PostgreSQL finding",
        |_| true,
    )
    .await?;
    for part in ["log_min_duration_statement is off", "ALTER SYSTEM SET log_min_duration_statement = '1000'"] {
        if !pg.contains(part) {
            return Err(format!("the PostgreSQL finding should say {part:?}: {pg:?}"));
        }
    }
    let problems = texts_at(client, &css("advisor-problem")).await;
    if !problems.is_empty() {
        return Err(format!("the advisor could not read a server: {problems:?}"));
    }
    Ok(())
}

async fn redis_fix(client: &Client, port: u16) -> Result<(), String> {
    click_at(client, &in_finding(REDIS_FINDING, "finding-preview")).await?;
    let changes = wait_until(client, "preview-changes", STEP, "no Redis preview", |t| !t.is_empty()).await?;
    if !(changes.contains("noeviction") && changes.contains("allkeys-lru")) {
        return Err(format!("the preview should read noeviction now and allkeys-lru after: {changes:?}"));
    }
    // A preview only reads.
    if redis_config(port, "maxmemory-policy")? != "noeviction" {
        return Err("the preview changed the server".into());
    }
    let result = confirm_and_run(client, &["CONFIG SET maxmemory-policy allkeys-lru"], "Redis apply").await?;
    eprintln!("Redis apply: {result:?}");
    wait_value("maxmemory-policy after the apply", "allkeys-lru", || redis_config(port, "maxmemory-policy")).await?;
    let (id, row) = wait_audit_row(client, "the Redis apply", |t| {
        t.contains("redis.config_set") && t.contains("maxmemory-policy: noeviction → allkeys-lru")
    })
    .await?;
    if !row.contains("applied") || !row.contains("CONFIG SET maxmemory-policy allkeys-lru") {
        return Err(format!("the audit row should show the statement and `applied`: {row:?}"));
    }

    // Roll back from the audit log.
    click_at(client, &format!("[data-testid=\"audit-row\"][data-id=\"{id}\"] {}", css("audit-rollback"))).await?;
    let flow = wait_until(client, "action-flow", STEP, "no rollback flow", |t| t.contains(&id)).await?;
    if !flow.contains("Rollback of audit entry") {
        return Err(format!("the flow should be the rollback of {id}: {flow:?}"));
    }
    let result = confirm_and_run(client, &["CONFIG SET maxmemory-policy noeviction"], "Redis rollback").await?;
    if !result.contains(&format!("rollback of {id}")) {
        return Err(format!("the rollback's entry should name {id}: {result:?}"));
    }
    wait_value("maxmemory-policy after the rollback", "noeviction", || redis_config(port, "maxmemory-policy")).await?;
    wait_audit_row(client, "the Redis rollback", |t| {
        t.contains(&format!("rollback of {id}")) && t.contains("maxmemory-policy: allkeys-lru → noeviction")
    })
    .await?;
    wait_audit_row(client, "the rolled-back entry", |t| t.contains("allkeys-lru") && t.contains("rolled back by"))
        .await?;
    settled(client).await?;
    click(client, "flow-close").await
}

async fn postgres_fix(client: &Client, pg: &simba_testkit::PostgresServer) -> Result<(), String> {
    // Closing the flow ran the advisor again: wait for the button to be there after that.
    wait_for_text(client, &in_finding(PG_FINDING, "finding-preview"), STEP, "the PostgreSQL finding's preview", |_| {
        true
    })
    .await?;
    click_at(client, &in_finding(PG_FINDING, "finding-preview")).await?;
    let changes = wait_until(client, "preview-changes", STEP, "no PostgreSQL preview", |t| !t.is_empty()).await?;
    if !(changes.contains("log_min_duration_statement") && changes.contains("-1") && changes.contains("1000")) {
        return Err(format!("the preview should read -1 now and 1000 after: {changes:?}"));
    }
    let statements = ["ALTER SYSTEM SET log_min_duration_statement = '1000'", "SELECT pg_reload_conf()"];
    let result = confirm_and_run(client, &statements, "PostgreSQL apply").await?;
    eprintln!("PostgreSQL apply: {result:?}");
    // current_setting shows milliseconds in PostgreSQL's own unit: 1000 ms reads 1s.
    wait_value("log_min_duration_statement after the apply", "1s", || pg_show(pg, "log_min_duration_statement"))
        .await?;
    let (id, row) = wait_audit_row(client, "the PostgreSQL apply", |t| {
        t.contains("pg.alter_system") && t.contains("log_min_duration_statement: -1 → 1s")
    })
    .await?;
    if !row.contains("applied") {
        return Err(format!("the audit row should say applied: {row:?}"));
    }

    click_at(client, &format!("[data-testid=\"audit-row\"][data-id=\"{id}\"] {}", css("audit-rollback"))).await?;
    wait_until(client, "action-flow", STEP, "no rollback flow", |t| t.contains(&id)).await?;
    let result = confirm_and_run(
        client,
        &["ALTER SYSTEM SET log_min_duration_statement = '-1'", "SELECT pg_reload_conf()"],
        "PostgreSQL rollback",
    )
    .await?;
    if !result.contains(&format!("rollback of {id}")) {
        return Err(format!("the rollback's entry should name {id}: {result:?}"));
    }
    wait_value("log_min_duration_statement after the rollback", "-1", || pg_show(pg, "log_min_duration_statement"))
        .await?;
    wait_audit_row(client, "the PostgreSQL rollback", |t| {
        t.contains(&format!("rollback of {id}")) && t.contains("log_min_duration_statement: 1s → -1")
    })
    .await?;
    // Closed, the page runs the advisor again: the finding is back, as the server is as before.
    settled(client).await?;
    click(client, "flow-close").await?;
    wait_for_text(
        client,
        &in_finding(PG_FINDING, "finding-title"),
        STEP,
        "the PostgreSQL finding after the rollback",
        |t| t.contains("log_min_duration_statement is off"),
    )
    .await?;
    Ok(())
}
