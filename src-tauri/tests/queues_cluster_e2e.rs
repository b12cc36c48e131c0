//! End to end through the real desktop window, as monitor_e2e.rs (Xvfb + tauri-driver +
//! WebKitWebDriver driving the `simba-tuner-app` that `cargo test` just built): the Queues and
//! Cluster pages of a saved profile whose Celery broker is a private Redis with a real Celery 5
//! worker on it, and whose Kubernetes API is simba_testkit's local server with the official shapes.
//!
//! Queues: the worker is seen alive, tasks sent with Celery's own client to a queue no worker
//! consumes show up as that queue's depth (checked against the broker's own LLENs), grow when more
//! are sent, and the queue is flagged once the workers are inspected. Cluster: the fake cluster's
//! HPAs and pod usage are shown; then its numbers move (one HPA driven to maxReplicas over its CPU
//! target, the pinned one calmed down, a pod's usage raised) and the page follows after a refresh.
//! Saves docs/screenshots/queues.png and docs/screenshots/cluster.png.
//!
//! Needs Xvfb (without a display), WebKitWebDriver, tauri-driver, redis-server and the Celery venv:
//! `bash .ci/setup test`.

// Each window test uses a part of support/.
#[allow(dead_code)]
mod support;

use fantoccini::{Client, Locator};
use simba_testkit::celery::{python, Worker, TASKS};
use simba_testkit::kube::Fake;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::page::{click, css, page_text, screenshot, texts_at, wait_for_selector, wait_for_text};
use support::{Folders, Session};

const APP: &str = env!("CARGO_BIN_EXE_simba-tuner-app");
const PROFILE: &str = "platform";
const WORKER: &str = "w1@queues-e2e";
/// The queue the test sends to: the worker listens to llm_queue, data_queue and vector_queue only.
const ORPHAN: &str = "orphan_queue";
/// How long one read of the page may take on a busy 2-core machine (a Queues report listens 2.5 s
/// for worker events; inspecting adds a round of control messages).
const STEP: Duration = Duration::from_secs(90);

/// Sends `n` tasks to the orphan queue with Celery's own client.
const SEND: &str = r#"
import sys
from tasks import app
for i in range(int(sys.argv[1])):
    app.send_task("tasks.orphan", args=(i,), queue=sys.argv[2])
"#;

/// A queue's depth as the broker holds it: the list and its three priority buckets.
const DEPTH: &str = r#"
import os, sys, redis
r = redis.Redis.from_url(os.environ["BROKER"])
q = sys.argv[1]
print(sum(r.llen(k) for k in [q, q + "\x06\x163", q + "\x06\x166", q + "\x06\x169"]))
"#;

struct Broker<'a> {
    venv: &'a Path,
    dir: &'a Path,
    url: &'a str,
}

impl Broker<'_> {
    fn send(&self, n: usize, queue: &str) {
        python(self.venv, self.dir, self.url, SEND, &[&n.to_string(), queue]);
    }

    fn depth(&self, queue: &str) -> u64 {
        let out = python(self.venv, self.dir, self.url, DEPTH, &[queue]);
        out.trim().parse().unwrap_or_else(|e| panic!("depth of {queue}: {out:?}: {e}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_and_cluster_pages_follow_a_real_worker_and_a_moving_cluster() {
    let started = Instant::now();
    let folders = Folders::new();

    // The broker in database 2: the event and pidbox channels carry the number.
    let redis = simba_testkit::RedisServer::start().expect("private Redis (bash .ci/setup test)");
    let broker_url = redis.url_db(2);
    let venv = simba_testkit::celery_venv().expect("the Celery venv (bash .ci/setup test)");
    let work = tempfile::tempdir().expect("temp dir");
    std::fs::write(work.path().join("tasks.py"), TASKS).expect("tasks.py");
    let _worker = Worker::start(
        &venv,
        work.path(),
        &broker_url,
        &["-A", "tasks", "worker", "-Q", "llm_queue,data_queue,vector_queue", "-c", "1", "-E", "-n", WORKER],
    );
    let broker = Broker { venv: &venv, dir: work.path(), url: &broker_url };

    let token = "e2e-cluster-admin-token";
    let fake = Arc::new(Fake::new(token.into(), "e2e-cluster-viewer-token".into()));
    let kube_url = fake.serve();

    // A saved profile, as `simba-tuner profile add platform --celery-broker URL --kubernetes URL`
    // with SIMBA_KUBERNETES_TOKEN saves it (the same store; the CLI binary is another package's).
    let store = simba_core::profiles::ProfileStore::new(folders.simba_config());
    let input = simba_core::profiles::ProfileInput {
        name: PROFILE.into(),
        celery_broker_url: Some(broker_url.clone()),
        kubernetes_url: Some(kube_url.clone()),
        kubernetes_token: Some(token.into()),
        ..Default::default()
    };
    store.save(&input).expect("save the profile");

    let session = Session::launch(
        APP,
        &folders,
        &[
            // Only the saved profile: no `env` one from this shell.
            ("SIMBA_REDIS_URL", Path::new("")),
            ("SIMBA_POSTGRES_URL", Path::new("")),
            ("SIMBA_CELERY_BROKER_URL", Path::new("")),
            ("SIMBA_PROMETHEUS_URL", Path::new("")),
            ("SIMBA_KUBERNETES_URL", Path::new("")),
        ],
    )
    .await;
    let (client, driver) = (&session.client, &session.driver);
    let mut result = queues_page(client, &broker).await;
    if result.is_ok() {
        result = cluster_page(client, &fake).await;
    }
    let shown = if result.is_err() { page_text(client).await } else { String::new() };
    let _ = client.clone().close().await;
    if let Err(message) = result {
        let log = std::fs::read_to_string(work.path().join("worker.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        panic!(
            "{message}\nthe page shows: {shown}\nworker log:\n{}\ndriver log:\n{}",
            tail.join("\n"),
            driver.log_tail(40)
        );
    }
    eprintln!("queues and cluster end to end: {:.1} s", started.elapsed().as_secs_f64());
}

/// Waits until the page's refresh button is enabled again: every read has answered, so nothing
/// arrives to move the page under a click.
async fn settled(client: &Client, prefix: &str) -> Result<(), String> {
    wait_for_selector(client, &format!("{}:not([disabled])", css(&format!("{prefix}-refresh"))), STEP, "still reading")
        .await
}

/// Refreshes the page by its button, once it is idle.
async fn refresh(client: &Client, prefix: &str) -> Result<(), String> {
    settled(client, prefix).await?;
    click(client, &format!("{prefix}-refresh")).await
}

/// Polls until the text at `selector` satisfies `check`, within one step; the text.
async fn wait_text(
    client: &Client,
    selector: &str,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> Result<String, String> {
    wait_for_text(client, selector, STEP, what, check).await
}

/// Opens a page from the navigation and chooses the profile in its picker.
async fn open(client: &Client, nav: &str, picker: &str) -> Result<(), String> {
    // The window opens before its page has loaded: wait for the navigation.
    wait_for_selector(client, &css(nav), Duration::from_secs(30), "no navigation entry").await?;
    click(client, nav).await?;
    let option = format!("{} option[value=\"{PROFILE}\"]", css(picker));
    wait_for_selector(client, &option, STEP, "the profile is not offered").await?;
    let select = client.find(Locator::Css(&css(picker))).await.map_err(|e| format!("no {picker}: {e}"))?;
    select.select_by_value(PROFILE).await.map_err(|e| format!("cannot choose {PROFILE} in {picker}: {e}"))
}

fn queue_cell(queue: &str, testid: &str) -> String {
    format!("[data-testid=\"queue-row\"][data-queue=\"{queue}\"] {}", css(testid))
}

/// Sends `n` tasks to the orphan queue, checks the broker then holds `want`, refreshes the page and
/// waits for the queue's depth cell to show it; the depth.
async fn send_and_see(client: &Client, broker: &Broker<'_>, n: usize, want: u64, what: &str) -> Result<u64, String> {
    broker.send(n, ORPHAN);
    let depth = broker.depth(ORPHAN);
    if depth != want {
        return Err(format!("the broker holds {depth} messages in {ORPHAN}, not {want}, after {n} more were sent"));
    }
    refresh(client, "queues").await?;
    wait_text(client, &queue_cell(ORPHAN, "queue-depth"), what, |t| t == depth.to_string()).await.map(|_| depth)
}

async fn queues_page(client: &Client, broker: &Broker<'_>) -> Result<(), String> {
    open(client, "nav-queues", "queues-profile").await?;
    // The worker's heartbeats: alive on the page.
    let state = format!("[data-testid=\"worker-row\"][data-worker=\"{WORKER}\"] {}", css("worker-state"));
    wait_text(client, &state, "the worker is not shown alive", |t| t.starts_with("alive")).await?;
    // The platform's queues are listed before any message: empty, as on the broker.
    let empty = broker.depth("llm_queue");
    wait_text(client, &queue_cell("llm_queue", "queue-depth"), "llm_queue's depth", |t| t == empty.to_string()).await?;
    if !texts_at(client, &queue_cell(ORPHAN, "queue-depth")).await.is_empty() {
        return Err(format!("{ORPHAN} is listed before anything was sent to it"));
    }

    // Tasks sent to a queue no worker consumes: its depth on the page is the broker's.
    let depth = send_and_see(client, broker, 7, 7, "the first depth").await?;
    let row = wait_text(client, &format!("[data-testid=\"queue-row\"][data-queue=\"{ORPHAN}\"]"), "its row", |_| true)
        .await?;
    if !row.contains(&format!("tasks.orphan × {depth}")) {
        return Err(format!("the row should name the {depth} tasks.orphan messages: {row:?}"));
    }

    // More sent: the figure follows (by the page's own auto-refresh or the button, whichever first).
    send_and_see(client, broker, 5, 12, "the grown depth").await?;

    // Inspected, the workers say which queues they consume: none consumes this one.
    settled(client, "queues").await?;
    click(client, "queues-inspect").await?;
    wait_text(client, &queue_cell(ORPHAN, "queue-no-consumer"), "the orphan queue is not flagged", |t| {
        t.contains("no live consumer")
    })
    .await?;
    wait_text(client, &css("queue-finding"), "no finding names the queue", |t| t.contains(ORPHAN)).await?;
    let consumed = texts_at(client, &queue_cell("llm_queue", "queue-no-consumer")).await;
    if !consumed.is_empty() {
        return Err(format!("llm_queue has a live consumer but is flagged: {consumed:?}"));
    }
    settled(client, "queues").await?;
    screenshot(client, "queues.png").await
}

fn hpa_row(name: &str) -> String {
    format!("[data-testid=\"hpa-row\"][data-hpa=\"{name}\"]")
}

fn pod_cell(name: &str, testid: &str) -> String {
    format!("[data-testid=\"pod-row\"][data-pod=\"{name}\"] {}", css(testid))
}

async fn cluster_page(client: &Client, fake: &Fake) -> Result<(), String> {
    open(client, "nav-cluster", "cluster-profile").await?;
    let (pinned, calm, pod) = ("simba-intelligence-hpa", "worker-hpa", "worker-5c8f-klmno");

    // As the fake starts: web's HPA at 10 of 10 replicas and over its CPU target (pinned), the
    // worker's at 2 of 6; the worker pod using 1 core and 1.5 GiB.
    wait_text(client, &format!("{} {}", hpa_row(pinned), css("hpa-pinned")), "the pinned HPA", |t| {
        t.contains("pinned at max")
    })
    .await?;
    wait_text(client, &format!("{} {}", hpa_row(calm), css("hpa-replicas")), "worker-hpa's replicas", |t| t == "2")
        .await?;
    let row = wait_text(client, &hpa_row(calm), "worker-hpa's row", |_| true).await?;
    if !(row.contains("1–6") && row.contains("cpu: 40% / 80%")) || row.contains("pinned") {
        return Err(format!("worker-hpa should be 1–6 replicas at 40% of its 80% CPU target, not pinned: {row:?}"));
    }
    wait_text(client, &pod_cell(pod, "pod-cpu"), "the worker pod's CPU", |t| t == "1").await?;
    wait_text(client, &pod_cell(pod, "pod-memory"), "the worker pod's memory", |t| t == "1.5 GiB").await?;
    let pods = texts_at(client, &css("pod-row")).await;
    if pods.len() != 4 {
        return Err(format!("the fake cluster has 4 pods in all namespaces; the page lists {pods:?}"));
    }

    // The cluster moves: the worker's HPA driven to its maximum over target, web's calmed down to
    // 4 replicas under target, the worker pod using more.
    fake.set_hpa("simba", calm, 6, 6, 97);
    fake.set_hpa("simba", pinned, 4, 4, 50);
    fake.set_pod_usage("simba", pod, "3500m", "3Gi");
    refresh(client, "cluster").await?;
    wait_text(client, &format!("{} {}", hpa_row(calm), css("hpa-pinned")), "worker-hpa pinned at max", |t| {
        t.contains("pinned at max")
    })
    .await?;
    let row = wait_text(client, &hpa_row(calm), "worker-hpa's new row", |t| t.contains("cpu: 97% / 80%")).await?;
    if !(row.contains("(over target)") && row.contains("ScalingLimited=True")) {
        return Err(format!("worker-hpa should be over target and ScalingLimited: {row:?}"));
    }
    wait_text(client, &format!("{} {}", hpa_row(calm), css("hpa-replicas")), "worker-hpa's replicas", |t| t == "6")
        .await?;
    wait_text(client, &format!("{} {}", hpa_row(pinned), css("hpa-replicas")), "web's HPA replicas", |t| t == "4")
        .await?;
    let badges = texts_at(client, &format!("{} {}", hpa_row(pinned), css("hpa-pinned"))).await;
    if !badges.is_empty() {
        return Err(format!("web's HPA at 4 of 10 replicas under target is still flagged: {badges:?}"));
    }
    wait_text(client, &pod_cell(pod, "pod-cpu"), "the worker pod's new CPU", |t| t == "3.5").await?;
    wait_text(client, &pod_cell(pod, "pod-memory"), "the worker pod's new memory", |t| t == "3.0 GiB").await?;
    settled(client, "cluster").await?;
    screenshot(client, "cluster.png").await
}
