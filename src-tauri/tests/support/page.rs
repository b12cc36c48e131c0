//! Reading and driving the app's page by `data-testid`, for both end-to-end tests.

use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

pub fn css(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

/// The texts of every element the CSS selector matches, a table row's cells joined by " | " (WebKit's
/// driver runs a row's cells together).
#[allow(dead_code)] // desktop_e2e.rs reads single elements only
pub async fn texts_at(client: &Client, selector: &str) -> Vec<String> {
    let script = "return Array.from(document.querySelectorAll(arguments[0])).map((el) => el.tagName === 'TR' \
        ? Array.from(el.children).map((c) => c.textContent.trim()).join(' | ') : el.textContent.trim());";
    match client.execute(script, vec![serde_json::Value::String(selector.to_string())]).await {
        Ok(serde_json::Value::Array(items)) => {
            items.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect()
        }
        _ => vec![],
    }
}

/// The texts of every element with this test id, as [`texts_at`].
#[allow(dead_code)] // desktop_e2e.rs reads single elements only
pub async fn texts_of(client: &Client, testid: &str) -> Vec<String> {
    texts_at(client, &css(testid)).await
}

pub async fn text_of(client: &Client, testid: &str) -> Option<String> {
    let el = client.find(Locator::Css(&css(testid))).await.ok()?;
    el.text().await.ok()
}

pub async fn click(client: &Client, testid: &str) -> Result<(), String> {
    let el = client.find(Locator::Css(&css(testid))).await.map_err(|e| format!("no [data-testid={testid}]: {e}"))?;
    el.click().await.map_err(|e| format!("cannot click {testid}: {e}"))
}

pub async fn type_into(client: &Client, testid: &str, text: &str) -> Result<(), String> {
    let el = client.find(Locator::Css(&css(testid))).await.map_err(|e| format!("no [data-testid={testid}]: {e}"))?;
    el.clear().await.map_err(|e| format!("cannot clear {testid}: {e}"))?;
    el.send_keys(text).await.map_err(|e| format!("cannot type into {testid}: {e}"))
}

/// Polls until `check` accepts the element's text; returns that text.
pub async fn wait_until(
    client: &Client,
    testid: &str,
    within: Duration,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let text = text_of(client, testid).await.unwrap_or_default();
        if check(&text) {
            return Ok(text);
        }
        if Instant::now() > deadline {
            let errors = text_of(client, "error-box").await.unwrap_or_default();
            return Err(format!(
                "{what}: [data-testid={testid}] says {text:?} after {within:?}; error-box: {errors:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The page's text, whitespace folded and shortened, for a failure message.
pub async fn page_text(client: &Client) -> String {
    let text = match client.execute("return document.body.innerText;", vec![]).await {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    };
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(4000).collect()
}

/// Polls until something matches `selector` and `check` accepts its text (a row's cells joined by
/// " | "); returns that text. On failure says what was there and what the page's error box shows.
pub async fn wait_for_text(
    client: &Client,
    selector: &str,
    within: Duration,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let texts = texts_at(client, selector).await;
        if let Some(t) = texts.iter().find(|t| check(t)) {
            return Ok(t.clone());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{what}: {selector} shows {texts:?} after {within:?}; error-box: {:?}",
                text_of(client, "error-box").await.unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until something matches `selector` (a page's idle marker, such as its refresh button
/// enabled again once every read has answered); panics never, fails with the page's text.
pub async fn wait_for_selector(client: &Client, selector: &str, within: Duration, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while client.find(Locator::Css(selector)).await.is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "{what}: nothing at {selector} after {within:?}; the page shows: {}",
                page_text(client).await
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Lets the page paint what it just changed (a scroll, a DOM change): a screenshot taken at once
/// can predate the repaint; after two animation frames it cannot.
pub async fn two_frames(client: &Client) {
    let _ = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await;
}

/// Saves a PNG of the window's top (the tiles and tables an admin looks at first) as
/// docs/screenshots/NAME.
pub async fn screenshot(client: &Client, name: &str) -> Result<(), String> {
    let _ = client.execute("window.scrollTo(0, 0)", vec![]).await;
    two_frames(client).await;
    let png = client.screenshot().await.map_err(|e| format!("no screenshot: {e}"))?;
    if !png.starts_with(b"\x89PNG") {
        return Err("the screenshot is not a PNG".into());
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("screenshots");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, &png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("saved {} ({} bytes)", path.display(), png.len());
    Ok(())
}
