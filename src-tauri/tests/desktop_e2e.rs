//! End to end through the real desktop window: Xvfb (when there is no display) + tauri-driver +
//! WebKitWebDriver drive the `simba-tuner-app` binary that `cargo test` just built, with the
//! front end embedded from ui/dist. Checks that the Overview shows live host figures that refresh,
//! that navigation works, and saves the README's screenshot to docs/screenshots/overview.png.
//!
//! Needs Xvfb (without a display), WebKitWebDriver and tauri-driver: `bash .ci/setup test`.

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{Display, TauriDriver};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");

fn css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

/// The element's text, found afresh (React may have replaced the node since the last look).
async fn text_of(client: &Client, testid: &str) -> Option<String> {
    let el = client.find(Locator::Css(&css(testid))).await.ok()?;
    el.text().await.ok()
}

/// Waits until the element exists and has non-empty text.
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

/// Lets the page paint what it just changed: a screenshot right after a DOM change can predate the
/// repaint.
async fn two_frames(client: &Client) {
    let _ = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await;
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_refreshes_live_and_navigates() {
    // The app's model files live in the real data folder: find them before the XDG folders below
    // point everything else at a throwaway place.
    let models = simba_core::paths::models_dir();
    let tmp = tempfile::tempdir().expect("temp dir");
    let (data, config, cache) = (tmp.path().join("data"), tmp.path().join("config"), tmp.path().join("cache"));
    for d in [&data, &config, &cache] {
        std::fs::create_dir_all(d).unwrap();
    }
    let simba_config = config.join("simba-tuner");
    let simba_data = data.join("simba-tuner");

    let display = Display::open();
    let driver = TauriDriver::start(
        display.name(),
        &[
            ("XDG_DATA_HOME", &data),
            ("XDG_CONFIG_HOME", &config),
            ("XDG_CACHE_HOME", &cache),
            ("SIMBA_CONFIG_DIR", &simba_config),
            ("SIMBA_DATA_DIR", &simba_data),
            ("SIMBA_MODELS_DIR", &models),
        ],
        tmp.path().join("tauri-driver.log"),
    );

    let mut caps = serde_json::Map::new();
    caps.insert("tauri:options".into(), serde_json::json!({ "application": APP }));
    let client = tokio::time::timeout(
        Duration::from_secs(60),
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new()).capabilities(caps).connect(&driver.url()),
    )
    .await
    .unwrap_or_else(|_| panic!("no WebDriver session within 60 s; driver log:\n{}", driver.log_tail(40)))
    .unwrap_or_else(|e| panic!("cannot open a WebDriver session on {APP}: {e}; driver log:\n{}", driver.log_tail(40)));

    let result = run_checks(&client, &driver).await;
    let _ = client.close().await;
    if let Err(message) = result {
        panic!("{message}");
    }
}

async fn run_checks(client: &Client, driver: &TauriDriver) -> Result<(), String> {
    let title = client.title().await.map_err(|e| format!("no page title: {e}"))?;
    eprintln!("page title: {title:?}");

    // The Overview comes up with live figures.
    let cpu = wait_for_text(client, "host-cpu", Duration::from_secs(30), driver).await;
    let first = wait_for_text(client, "last-updated", Duration::from_secs(30), driver).await;
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

#[test]
fn percent_parsing() {
    assert_eq!(percent_in("12.5 %"), Some(12.5));
    assert_eq!(percent_in("CPU 3%"), Some(3.0));
    assert_eq!(percent_in("0%"), Some(0.0));
    assert_eq!(percent_in("n/a"), None);
    assert_eq!(percent_in("%"), None);
}
