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
