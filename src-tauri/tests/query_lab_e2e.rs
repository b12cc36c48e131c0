//! End to end through the real desktop window, as monitor_e2e.rs (Xvfb + tauri-driver +
//! WebKitWebDriver driving the `simba-tuner-app` that `cargo test` just built, its front end
//! embedded from ui/dist): the Query Lab runs a question through the app's own engine. The first
//! time it is a miss answered by the local SmolLM2 (the model loads on first use: a few seconds,
//! up to two minutes on a slow machine), its text shown growing as the model writes it
//! (`call_stream`), then the semantic cache's reason and the timings; asked again, the session or
//! semantic cache answers it. The engine's figures follow.
//!
//! Runs on throwaway data and config folders (nothing of the user's cache or profiles is read or
//! written); only the model files come from the real models folder. Needs Xvfb (without a display),
//! WebKitWebDriver, tauri-driver and the local models: `bash .ci/setup test` and `bash .ci/setup app`.

// Each window test uses a part of support/.
#[allow(dead_code)]
mod support;

use fantoccini::{Client, Locator};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::page::{click, css, text_of, two_frames, type_into, wait_until};
use support::{Folders, Session};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");
const QUESTION: &str = "What is the capital of France?";
const PARAPHRASE: &str = "what is the capital city of France";
/// A log of six rows with their answers and one bad row (line 5: no query), replayed with the
/// log's answers standing in for the model, so that it takes seconds.
const LOG: &str = "user,item,query,timestamp,expected_answer
alice,,What is the capital of France?,2026-12-05T10:00:00Z,Paris
alice,,What is the capital of France?,2026-12-05T10:00:02Z,Paris
alice,,what is the capital city of France,2026-12-05T10:00:04Z,Paris
bob,,,2026-12-05T10:00:05Z,
bob,sales,How many orders shipped last week?,2026-12-05T10:00:06Z,1284
bob,sales,How many orders shipped last week?,2026-12-05T10:00:08Z,1284
alice,,What is the capital of Germany?,2026-12-05T10:00:09Z,Berlin
";
/// The first answer loads the chat model and the embedder in the app.
const FIRST_ANSWER: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_lab_answers_from_the_model_then_from_the_cache() {
    // The model files live in the real data folder: find them before the folders below point
    // everything else at a throwaway place.
    let folders = Folders::new();
    let chat_model = folders.models.join("SmolLM2-135M-Instruct");
    assert!(
        chat_model.is_dir(),
        "the local chat model is not at {} (run `bash .ci/setup app`, or set SIMBA_MODELS_DIR)",
        chat_model.display()
    );

    let session = Session::launch(
        APP,
        &folders,
        &[
            // The embedded store and the local model, whatever this shell's environment says.
            ("SIMBA_CACHE_STORE", Path::new("embedded")),
            ("SIMBA_LLM", Path::new("local")),
        ],
    )
    .await;
    let (client, driver) = (&session.client, &session.driver);
    let log = folders.tmp.path().join("queries.csv");
    std::fs::write(&log, LOG).expect("write the log");
    let mut result = query_lab(client).await;
    if result.is_ok() {
        result = replay(client, &log).await;
    }
    if result.is_ok() {
        let _ = screenshot(client, "querylab.png", None).await;
        let _ = screenshot(client, "querylab-replay.png", Some("ql-comparison")).await;
    }
    let _ = client.clone().close().await;
    if let Err(message) = result {
        panic!("{message}\ndriver log:\n{}", driver.log_tail(60));
    }
}

/// Waits for the answer of the query just started: the Run button back (not "Running…") and a
/// trace whose outcome `accept`s, or the page's error.
async fn wait_answer(
    client: &Client,
    within: Duration,
    what: &str,
    accept: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let running = text_of(client, "ql-run").await.unwrap_or_default();
        if !running.contains("Running") {
            if let Some(error) = text_of(client, "ql-error").await {
                return Err(format!("{what}: the query failed: {error}"));
            }
            let outcome = text_of(client, "ql-outcome").await.unwrap_or_default();
            if accept(&outcome) {
                return Ok(outcome);
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{what}: no answer within {within:?}; Run says {running:?}, outcome {:?}",
                text_of(client, "ql-outcome").await
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn texts(client: &Client, ids: &[&str]) -> String {
    let mut out = Vec::new();
    for id in ids {
        out.push(format!("{id}: {:?}", text_of(client, id).await.unwrap_or_default()));
    }
    out.join("\n")
}

async fn query_lab(client: &Client) -> Result<(), String> {
    // The window opens before its page has loaded: wait for the navigation.
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.find(Locator::Css(&css("nav-querylab"))).await.is_err() {
        if Instant::now() > deadline {
            return Err("no Query Lab entry in the navigation within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    click(client, "nav-querylab").await?;
    wait_until(client, "ql-stat-queries", Duration::from_secs(20), "the engine's figures", |t| t.contains("Queries"))
        .await?;

    // First time: nothing cached, the local model answers, its text shown as it streams.
    type_into(client, "ql-question", QUESTION).await?;
    type_into(client, "ql-max-tokens", "48").await?;
    record_streamed_text(client).await?;
    click(client, "ql-run").await?;
    let started = Instant::now();
    wait_answer(client, FIRST_ANSWER, "the first query", |o| o == "MISS" || o == "HIT").await?;
    eprintln!("first answer after {:.1} s", started.elapsed().as_secs_f64());
    check_streamed_text(client).await?;
    let first = texts(
        client,
        &["ql-outcome", "ql-source", "ql-model", "ql-answer", "ql-lookup", "timing-legend", "ql-cost", "ql-cached"],
    )
    .await;
    eprintln!("first trace:\n{first}");
    let outcome = text_of(client, "ql-outcome").await.unwrap_or_default();
    let source = text_of(client, "ql-source").await.unwrap_or_default();
    if outcome != "MISS" || !source.contains("model") {
        return Err(format!("a first question on an empty cache should be a miss answered by the model:\n{first}"));
    }
    let model = text_of(client, "ql-model").await.unwrap_or_default();
    if !model.contains("local:SmolLM2") {
        return Err(format!("the local SmolLM2 should answer: {model:?}"));
    }
    if text_of(client, "ql-answer").await.unwrap_or_default().trim().is_empty() {
        return Err(format!("the model's answer is empty:\n{first}"));
    }
    // The semantic cache's decision: a miss with its reason (an empty namespace).
    let reason = text_of(client, "ql-miss-reason").await.unwrap_or_default();
    if reason.trim().is_empty() {
        return Err(format!("a miss should say why the semantic cache did not answer:\n{first}"));
    }
    let model_ms = text_of(client, "timing-model").await.unwrap_or_default();
    if !model_ms.starts_with("model ") || model_ms.contains("0.00 ms") {
        return Err(format!("the timings should show the model's time: {model_ms:?}"));
    }
    if client.find(Locator::Css(&css("timing-seg-model"))).await.is_err() {
        return Err("the timing bar has no model segment".into());
    }
    let cost = text_of(client, "ql-cost").await.unwrap_or_default();
    if !cost.contains("completion tokens") || cost.contains("(estimated)") {
        return Err(format!("a model answer reports the model's own token counts: {cost:?}"));
    }
    let cached = text_of(client, "ql-cached").await.unwrap_or_default();
    if !cached.starts_with("yes") {
        return Err(format!("the answer should now be cached: {cached:?}"));
    }

    // Again: the session cache (or the semantic cache) answers, without the model.
    click(client, "ql-run").await?;
    wait_answer(client, Duration::from_secs(60), "the second query", |o| o == "HIT").await?;
    let second = texts(client, &["ql-outcome", "ql-source", "ql-lookup", "timing-legend", "ql-cost"]).await;
    eprintln!("second trace:\n{second}");
    check_hit(client, &second).await?;

    // Asked in other words: the semantic cache serves the first answer (or the session cache, if
    // it reads the two as the same text).
    type_into(client, "ql-question", PARAPHRASE).await?;
    click(client, "ql-run").await?;
    wait_answer(client, Duration::from_secs(60), "the paraphrase", |_| true).await?;
    let third = texts(client, &["ql-outcome", "ql-source", "ql-lookup", "timing-legend", "ql-cost"]).await;
    eprintln!("paraphrase trace:\n{third}");
    let hits = if text_of(client, "ql-outcome").await.as_deref() == Some("HIT") {
        check_hit(client, &third).await?;
        2
    } else {
        1
    };

    // The engine's figures: three queries, the model called for each miss.
    let misses = 3 - hits;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let queries = tile_value(client, "ql-stat-queries").await;
        let calls = tile_value(client, "ql-stat-model").await;
        let want_calls = if misses == 1 { "1 call".to_string() } else { format!("{misses} calls") };
        if queries == "3" && calls == want_calls {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the figures should read 3 queries and {want_calls}: {queries:?}, {calls:?}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

/// Keeps, in the page, every text the streaming answer shows (each change, as the DOM changes):
/// polling could miss a stream that ends within a poll.
async fn record_streamed_text(client: &Client) -> Result<(), String> {
    let script = r#"
        const seen = (window.__qlStreamed = []);
        new MutationObserver(() => {
            const el = document.querySelector('[data-testid="ql-streaming"]');
            if (el && seen[seen.length - 1] !== el.textContent) seen.push(el.textContent);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
    "#;
    client.execute(script, vec![]).await.map(|_| ()).map_err(|e| format!("cannot watch the streamed text: {e}"))
}

/// The model's answer was shown growing, and the trace's answer is what it grew to.
async fn check_streamed_text(client: &Client) -> Result<(), String> {
    let script = r#"
        const answer = document.querySelector('[data-testid="ql-answer"]');
        return { seen: window.__qlStreamed || [], answer: answer ? answer.textContent : null };
    "#;
    let got = client.execute(script, vec![]).await.map_err(|e| format!("cannot read the streamed text: {e}"))?;
    let seen: Vec<String> =
        got["seen"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).map(String::from).collect();
    let answer = got["answer"].as_str().unwrap_or_default();
    eprintln!("the answer was shown in {} steps before the trace", seen.len());
    let shown: Vec<&String> = seen.iter().filter(|s| !s.is_empty()).collect();
    if shown.len() < 2 {
        return Err(format!("the model's answer should be shown growing as it streams: {seen:?}, answer {answer:?}"));
    }
    if let Some(step) = shown.iter().find(|s| !answer.starts_with(s.as_str())) {
        return Err(format!("a streamed text is not the start of the answer: {step:?} vs {answer:?}"));
    }
    if !shown.windows(2).all(|w| w[1].len() > w[0].len()) {
        return Err(format!("the streamed text should only grow (no restart expected): {seen:?}"));
    }
    Ok(())
}

/// The log replayed under two setups: both reports, bad row 5 named, the comparison and one chart
/// with a line per setup.
async fn replay(client: &Client, log: &Path) -> Result<(), String> {
    let file =
        client.find(Locator::Css(&css("ql-replay-file"))).await.map_err(|e| format!("no log file input: {e}"))?;
    file.send_keys(&log.display().to_string()).await.map_err(|e| format!("cannot choose the log file: {e}"))?;
    wait_until(client, "ql-replay-file-info", Duration::from_secs(10), "the chosen log", |t| t.contains("7 rows"))
        .await?;
    client
        .find(Locator::Css(&css("ql-replay-miss-answers")))
        .await
        .map_err(|e| format!("no miss-answers select: {e}"))?
        .select_by_value("log")
        .await
        .map_err(|e| format!("cannot pick the log's answers: {e}"))?;
    click(client, "ql-replay-compare").await?;
    type_into(client, "ql-setup-b-threshold", "0.95").await?;
    type_into(client, "ql-setup-b-label", "strict 0.95").await?;
    click(client, "ql-replay-run").await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(180);
    loop {
        if let Some(error) = text_of(client, "ql-replay-error").await {
            return Err(format!("the replay failed: {error}"));
        }
        let running = text_of(client, "ql-replay-run").await.unwrap_or_default();
        if !running.contains("Replaying") && text_of(client, "ql-replay-reports").await.is_some() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no replay report within 180 s; the button says {running:?}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("replay took {:.1} s", started.elapsed().as_secs_f64());
    let reports = client.find_all(Locator::Css(&css("ql-report"))).await.map_err(|e| e.to_string())?;
    if reports.len() != 2 {
        return Err(format!("two setups should give two reports, not {}", reports.len()));
    }
    let rows = text_of(client, "ql-report-rows").await.unwrap_or_default();
    eprintln!("first report: {rows:?}, hit rate {:?}", text_of(client, "ql-report-hit-rate").await);
    if !rows.contains("6 rows read: 6 answered, 0 failed; 1 bad row skipped") {
        return Err(format!("6 rows read and answered, 1 bad: {rows:?}"));
    }
    let bad = text_of(client, "ql-bad-rows-lines").await.unwrap_or_default();
    if bad.trim() != "5" {
        return Err(format!("the bad row is line 5: {bad:?}"));
    }
    if text_of(client, "ql-comparison").await.is_none() {
        return Err("two reports should be compared".into());
    }
    let lines = client.find_all(Locator::Css(&css("ql-chart-line"))).await.map_err(|e| e.to_string())?;
    if lines.len() != 2 {
        return Err(format!("the chart should have a line per setup, not {}", lines.len()));
    }
    Ok(())
}

/// A hit from the session cache, or from the semantic cache with the first question matched;
/// either way without the model.
async fn check_hit(client: &Client, trace: &str) -> Result<(), String> {
    let source = text_of(client, "ql-source").await.unwrap_or_default();
    if source.contains("semantic cache") {
        let matched = text_of(client, "ql-matched").await.unwrap_or_default();
        let similarity = text_of(client, "ql-similarity").await.unwrap_or_default();
        if matched != QUESTION || similarity.parse::<f64>().map_or(true, |s| s < 0.8) {
            return Err(format!("a semantic hit should show the matched question and its similarity:\n{trace}"));
        }
    } else if !source.contains("session cache") {
        return Err(format!("a hit should come from the session or semantic cache:\n{trace}"));
    }
    if client.find(Locator::Css(&css("timing-seg-model"))).await.is_ok() {
        return Err(format!("a cache hit should not call the model:\n{trace}"));
    }
    Ok(())
}

/// The big figure of one of the engine's tiles.
async fn tile_value(client: &Client, testid: &str) -> String {
    match client.find(Locator::Css(&format!("{} .tile-value", css(testid)))).await {
        Ok(el) => el.text().await.unwrap_or_default().trim().to_string(),
        Err(_) => String::new(),
    }
}

/// The window from the top, or from the element with this test id.
async fn screenshot(client: &Client, name: &str, from: Option<&str>) -> Result<(), String> {
    let script = match from {
        Some(_) => "const el = document.querySelector(arguments[0]); if (el) el.scrollIntoView();",
        None => "window.scrollTo(0, 0)",
    };
    let _ = client.execute(script, vec![serde_json::Value::String(from.map(css).unwrap_or_default())]).await;
    two_frames(client).await;
    let png = client.screenshot().await.map_err(|e| format!("no screenshot: {e}"))?;
    // Kept with the build's test files (not in docs/): for a look after a run.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    std::fs::write(&path, &png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("saved {} ({} bytes)", path.display(), png.len());
    Ok(())
}
