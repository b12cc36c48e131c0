//! End to end through the real desktop window: Xvfb (when there is no display) + tauri-driver +
//! WebKitWebDriver drive the `simba-tuner-app` binary that `cargo test` just built, with the
//! front end embedded from ui/dist. Checks that the Overview shows live host figures that refresh,
//! that a profile's Redis figures follow a workload run against a private Redis while the window is
//! open, that the Cache page lists, looks up, deletes and evaluates real entries of the local engine,
//! and saves the README's screenshot to docs/screenshots/overview.png.
//!
//! Needs Xvfb (without a display), WebKitWebDriver and tauri-driver: `bash .ci/setup test`.

// Each window test uses a part of support/.
#[allow(dead_code)]
mod support;

use fantoccini::{Client, Locator};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::page::{click, css, text_of, two_frames, type_into, wait_until};
use support::{Folders, Session, TauriDriver};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");

async fn wait_for_text(client: &Client, testid: &str, within: Duration, driver: &TauriDriver) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(t) = text_of(client, testid).await.filter(|t| !t.trim().is_empty()) {
            return t;
        }
        if Instant::now() > deadline {
            let errors = text_of(client, "error-box").await.unwrap_or_default();
            let body = client.source().await.unwrap_or_default();
            panic!(
                "no text in [data-testid={testid}] within {within:?}; error-box: {errors:?}\npage: {}\ndriver log:\n{}",
                &body[..body.len().min(3000)],
                driver.log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The number before the `%` in a text like "12.5 %" or "CPU 3%".
fn percent_in(text: &str) -> Option<f64> {
    let before = &text[..text.find('%')?];
    let before = before.trim_end();
    let start = before.rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == ',')).map_or(0, |i| i + 1);
    before[start..].replace(',', ".").parse().ok()
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_refreshes_live_and_navigates() {
    let folders = Folders::new();

    // A private Redis for the `env` profile, and a local cache with entries for the Cache page.
    let redis = simba_testkit::RedisServer::start().expect("private Redis (bash .ci/setup test)");
    let redis_url = redis.url();
    fill_cache(&folders.simba_data(), &folders.models).await;

    let session = Session::launch(APP, &folders, &[("SIMBA_REDIS_URL", Path::new(&redis_url))]).await;
    let (client, driver) = (&session.client, &session.driver);
    let mut result = run_checks(client, driver).await;
    if result.is_ok() {
        result = redis_figures_follow_a_workload(client, driver, redis.port()).await;
    }
    if result.is_ok() {
        result = cache_page_works_on_real_entries(client, driver).await;
    }
    let _ = client.clone().close().await;
    if let Err(message) = result {
        panic!("{message}");
    }
}

async fn run_checks(client: &Client, driver: &TauriDriver) -> Result<(), String> {
    let title = client.title().await.map_err(|e| format!("no page title: {e}"))?;
    eprintln!("page title: {title:?}");

    // The Overview comes up with live figures.
    let cpu = wait_for_text(client, "host-cpu", Duration::from_secs(30), driver).await;
    let mut first = wait_for_text(client, "last-updated", Duration::from_secs(30), driver).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !first.starts_with("updated") {
        if Instant::now() > deadline {
            return Err(format!("the Overview never loaded: last-updated says {first:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        first = text_of(client, "last-updated").await.unwrap_or_default();
    }
    eprintln!("host-cpu {cpu:?}, last-updated {first:?}");

    // Live refresh: the time of the last update moves on by itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        let now = text_of(client, "last-updated").await.unwrap_or_default();
        if !now.trim().is_empty() && now != first {
            break now;
        }
        if Instant::now() > deadline {
            return Err(format!("last-updated stayed {first:?} for 20 s: the Overview does not refresh by itself"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!("last-updated moved on to {second:?}");

    let cpu = text_of(client, "host-cpu").await.unwrap_or(cpu);
    let value = percent_in(&cpu).ok_or_else(|| format!("host-cpu {cpu:?} does not look like a percentage"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!("host-cpu {cpu:?} is out of 0–100 %"));
    }
    let memory = text_of(client, "host-memory").await;
    eprintln!("host-memory {memory:?}");

    // The README's screenshot: the Overview with live figures.
    two_frames(client).await;
    let png = client.screenshot().await.map_err(|e| format!("no screenshot: {e}"))?;
    if !png.starts_with(b"\x89PNG") {
        return Err("the screenshot is not a PNG".into());
    }
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("overview.png");
    std::fs::write(&path, &png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("saved {} ({} bytes)", path.display(), png.len());

    // Navigation: Profiles replaces the Overview.
    let nav = client
        .find(Locator::Css(&css("nav-profiles")))
        .await
        .map_err(|e| format!("no [data-testid=nav-profiles]: {e}"))?;
    nav.click().await.map_err(|e| format!("cannot click nav-profiles: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let overview_gone = match client.find(Locator::Css(&css("host-cpu"))).await {
            Err(_) => true,
            Ok(el) => !el.is_displayed().await.unwrap_or(false),
        };
        if overview_gone {
            break;
        }
        if Instant::now() > deadline {
            return Err("after clicking nav-profiles the Overview's host-cpu is still shown".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = client
        .find(Locator::Css("body"))
        .await
        .map_err(|e| format!("no body: {e}"))?
        .text()
        .await
        .map_err(|e| format!("no body text: {e}"))?;
    if !body.to_lowercase().contains("embedded") {
        return Err(format!("the Profiles page does not list the built-in `embedded` profile; it shows:\n{body}"));
    }
    Ok(())
}

/// Three answers in alice's namespace of the local cache, written before the app starts.
async fn fill_cache(simba_data: &Path, models: &Path) {
    use simba_core::engine::{cache::types::Scope, Backend, Engine, MODEL_DIR_NAME};
    let engine = Engine::new(models.join(MODEL_DIR_NAME), Backend::Embedded { path: simba_data.join("cache.db") });
    let cache = engine.cache().await.unwrap_or_else(|e| panic!("local cache: {}", e.message));
    let alice = Scope::user("alice");
    for (q, a) in [
        ("What was our total revenue in 2023?", "Revenue 2023: 4.2 M EUR"),
        ("How many orders were shipped last week?", "1,204 orders"),
        ("Which region has the most active customers?", "EMEA"),
    ] {
        cache.update_cache(q, a, &alice, None).await.unwrap_or_else(|e| panic!("store: {}", e.message));
    }
}

/// How many elements carry this test id.
async fn count(client: &Client, testid: &str) -> usize {
    client.find_all(Locator::Css(&css(testid))).await.map(|v| v.len()).unwrap_or(0)
}

/// The first whole number in a text ("12 keys, …" -> 12).
fn first_number(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Selects the `env` profile (the private Redis) and sees its key count follow writes made by
/// another client while the window is open.
async fn redis_figures_follow_a_workload(client: &Client, driver: &TauriDriver, port: u16) -> Result<(), String> {
    click(client, "nav-overview").await?;
    let select =
        client.find(Locator::Css(&css("profile-select"))).await.map_err(|e| format!("no profile-select: {e}"))?;
    select.select_by_value("env").await.map_err(|e| format!("cannot choose the env profile: {e}"))?;
    let before = wait_for_text(client, "redis-keys", Duration::from_secs(30), driver).await;
    let keys_before = first_number(&before).ok_or_else(|| format!("redis-keys {before:?} has no count"))?;
    let mut script = String::new();
    for i in 0..250 {
        script.push_str(&format!("SET e2e:key:{i} value-{i}\n"));
    }
    let mut cli = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run redis-cli: {e}"))?;
    {
        use std::io::Write;
        cli.stdin.take().unwrap().write_all(script.as_bytes()).map_err(|e| format!("redis-cli: {e}"))?;
    }
    cli.wait().map_err(|e| format!("redis-cli: {e}"))?;
    let after = wait_until(
        client,
        "redis-keys",
        Duration::from_secs(20),
        "the Redis key count never followed the workload",
        |t| first_number(t).is_some_and(|n| n >= keys_before + 250),
    )
    .await?;
    eprintln!("redis-keys went from {before:?} to {after:?}");
    select.select_by_value("embedded").await.map_err(|e| format!("cannot choose the embedded profile: {e}"))?;
    Ok(())
}

/// The Cache page on the local engine's real entries: list, look up, delete (with the confirmation
/// dialog), and an eval run with its chart.
async fn cache_page_works_on_real_entries(client: &Client, _driver: &TauriDriver) -> Result<(), String> {
    click(client, "nav-cache").await?;
    wait_until(client, "ns-table", Duration::from_secs(30), "no namespace listed", |t| t.contains("alice")).await?;
    // A table row has no single click point in WebKit's driver: click its first cell.
    let cell = client
        .find(Locator::Css(&format!("{} td", css("ns-row"))))
        .await
        .map_err(|e| format!("no namespace row: {e}"))?;
    cell.click().await.map_err(|e| format!("cannot click the namespace row: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while count(client, "entry-row").await != 3 {
        if Instant::now() > deadline {
            return Err(format!("expected 3 entries in alice's namespace, see {}", count(client, "entry-row").await));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A paraphrase is served alice's stored answer; the year-changed trap is not.
    type_into(client, "cache-user", "alice").await?;
    type_into(client, "cache-query", "what was the total revenue for 2023").await?;
    click(client, "cache-lookup").await?;
    let hit =
        wait_until(client, "cache-lookup-result", Duration::from_secs(20), "the paraphrase was not served", |t| {
            t.contains("HIT")
        })
        .await?;
    if !hit.contains("4.2 M EUR") {
        return Err(format!("the hit served the wrong answer: {hit:?}"));
    }
    type_into(client, "cache-query", "What was our total revenue in 2024?").await?;
    click(client, "cache-lookup").await?;
    wait_until(client, "cache-lookup-result", Duration::from_secs(20), "the changed-year trap was served", |t| {
        t.contains("MISS")
    })
    .await?;

    // Delete one entry: the confirmation dialog is answered, and the list shrinks.
    click(client, "entry-delete").await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.accept_alert().await {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => return Err(format!("no confirmation dialog before deleting: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while count(client, "entry-row").await != 2 {
        if Instant::now() > deadline {
            return Err(format!("after the delete, {} entries are listed, not 2", count(client, "entry-row").await));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // An eval run over labelled pairs shows its table and the sweep chart.
    let pairs = [
        r#"{"a":"How many orders were shipped last week?","b":"how many orders shipped last week","same_answer":true,"category":"paraphrase"}"#,
        r#"{"a":"How many orders were shipped last week?","b":"How many orders were shipped last month?","same_answer":false,"category":"changed_date"}"#,
        r#"{"a":"Which region has the most active customers?","b":"which region has the most active customers","same_answer":true,"category":"near_repeat"}"#,
        r#"{"a":"Which region has the most active customers?","b":"Which region has the fewest active customers?","same_answer":false,"category":"changed_scope"}"#,
    ];
    // WebDriver's Enter key (U+E007) makes the line breaks in the textarea.
    type_into(client, "eval-content", &pairs.join("\u{E007}")).await?;
    click(client, "eval-run").await?;
    wait_until(client, "eval-table", Duration::from_secs(60), "no eval results", |t| {
        t.contains("paraphrase") && t.contains("changed_date")
    })
    .await?;
    // The judge took part, at the default settings.
    let judge = text_of(client, "eval-judge-settings").await.unwrap_or_default();
    if !judge.contains("judge: score ≥ 0.99") {
        return Err(format!("the eval ran without the judge: {judge:?}"));
    }
    let chart = client.find(Locator::Css(&css("eval-chart"))).await.map_err(|e| format!("no eval chart: {e}"))?;
    let src = chart.attr("src").await.map_err(|e| format!("eval chart: {e}"))?.unwrap_or_default();
    if !src.starts_with("data:image/svg+xml") {
        return Err(format!("the eval chart is not an SVG image: {}", &src[..src.len().min(80)]));
    }
    Ok(())
}

#[test]
fn percent_parsing() {
    assert_eq!(percent_in("12.5 %"), Some(12.5));
    assert_eq!(percent_in("CPU 3%"), Some(3.0));
    assert_eq!(percent_in("0%"), Some(0.0));
    assert_eq!(percent_in("n/a"), None);
    assert_eq!(percent_in("%"), None);
    assert_eq!(first_number("1,204 keys"), Some(1));
    assert_eq!(first_number("250 keys, 0 evicted"), Some(250));
}
