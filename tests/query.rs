//! The query engine through the real binary: `simba-tuner query` and `replay`, and `serve`'s
//! health, readiness and metrics, scraped by a real Prometheus.

mod common;

use common::{serve, Cli};
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn query_answers_with_its_trace_and_the_cache_serves_a_rewording() {
    let cli = Cli::new();
    let first = cli.json(&["query", "What is the capital of France?", "--max-tokens", "48", "--json"]);
    assert_eq!(first["outcome"], "miss", "{first}");
    assert_eq!(first["source"], "model");
    assert_eq!(first["model"], "local:SmolLM2-135M-Instruct");
    assert_eq!(first["cached"], true, "{first}");
    assert!(first["answer"].as_str().unwrap().len() > 2);
    assert!(first["cost"]["prompt_tokens"].as_u64().unwrap() > 10);
    assert_eq!(first["lookup"]["outcome"], "miss");

    let second = cli.json(&["query", "What's the capital of France?", "--max-tokens", "48", "--json"]);
    assert_eq!(second["outcome"], "hit", "{second}");
    assert_eq!(second["source"], "semantic_cache");
    assert_eq!(second["lookup"]["matched_query"], "What is the capital of France?");
    assert!(second["lookup"]["similarity"].as_f64().unwrap() > 0.9);
    assert_eq!(second["answer"], first["answer"]);

    // The human form names the level and the time.
    let text = cli.run(&["query", "What's the capital of France?", "--max-tokens", "48"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("HIT  semantic cache"), "{text}");
    assert!(text.contains("time ") && text.contains("tokens "), "{text}");

    // Streamed: the answer as the model writes it, then the level and the trace. The answer
    // cached from the stream is the one printed.
    let question = "Name three primary colours.";
    let streamed = cli.run(&["query", question, "--max-tokens", "48", "--stream"]);
    assert!(streamed.status.success(), "{}", String::from_utf8_lossy(&streamed.stderr));
    let text = String::from_utf8_lossy(&streamed.stdout);
    let (printed, trace) = text.split_once("\n\n").unwrap();
    assert!(trace.starts_with("MISS answered by local:SmolLM2-135M-Instruct"), "{text}");
    assert!(trace.contains("cached: yes"), "{text}");
    let again = cli.json(&["query", question, "--max-tokens", "48", "--json"]);
    assert_eq!(again["outcome"], "hit", "{again}");
    assert_eq!(printed, again["answer"].as_str().unwrap().replace('\n', "\\n"));
    let both = cli.run(&["query", question, "--stream", "--json"]);
    assert_eq!(both.status.code(), Some(2), "--stream and --json do not mix");

    // Bad input: a clear error and exit code 2.
    let empty = cli.run(&["query", "   ", "--json"]);
    assert_eq!(empty.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&empty.stdout).unwrap();
    assert_eq!(err["error"]["code"], "invalid_input");
}

/// Without a profile, `task` runs on the in-process queues.
#[test]
fn tasks_without_a_profile_run_on_the_in_process_queues() {
    let cli = Cli::new();
    let embedded = cli.json(&[
        "task",
        "embed",
        "--kind",
        "vector",
        "--args",
        r#"["orders shipped", "the capital of France"]"#,
        "--json",
    ]);
    assert_eq!(embedded["status"], "SUCCESS", "{embedded}");
    assert_eq!(embedded["result"]["dims"], 384);
    let vectors = embedded["result"]["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    assert_eq!(vectors[0].as_array().unwrap().len(), 384);

    let completed =
        cli.json(&["task", "complete", "--kind", "llm", "--args", r#"["What is the capital of France?"]"#, "--json"]);
    assert_eq!(completed["status"], "SUCCESS", "{completed}");
    assert_eq!(completed["result"]["model"], "SmolLM2-135M-Instruct");
    assert!(!completed["result"]["text"].as_str().unwrap().trim().is_empty());

    // Bad input: named, exit code 2, nothing run.
    for (args, says) in [
        (vec!["task", "nope", "--kind", "data"], "no in-process task 'nope'"),
        (vec!["task", "embed", "--kind", "llm", "--args", r#"["x"]"#], "runs on vector_queue"),
        (vec!["task", "embed", "--kind", "vector", "--args", "[1, 2]"], "array of strings"),
        (vec!["task", "complete", "--kind", "llm", "--args", r#"["  "]"#], "question"),
    ] {
        let out = cli.run(&[args.as_slice(), &["--json"]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(err["error"]["message"].as_str().unwrap().contains(says), "{args:?}: {err}");
    }
}

#[test]
fn replay_reports_hits_false_hits_and_bad_rows_by_line() {
    let cli = Cli::new();
    let log = cli.home.path().join("log.csv");
    std::fs::write(
        &log,
        "user,item,query,timestamp,expected_answer\n\
         alice,,What is the refund window?,2026-12-06T10:00:00Z,Refunds are accepted within 30 days of purchase.\n\
         alice,,What is the refund window?,2026-12-06T10:00:01Z,Refunds are accepted within 30 days of purchase.\n\
         bob,,How do I reset my password?,2026-12-06T10:00:02Z,Use the Forgot password link on the sign-in page.\n\
         bob,,How do I reset my password please?,2026-12-06T10:00:03Z,Use the Forgot password link on the sign-in page.\n\
         bob,,How do I reset my password?,2026-12-06T10:00:04Z,Our support team resets passwords by phone.\n\
         carol,,,2026-12-06T10:00:05Z,x\n\
         dave,,Is the API up?,yesterday,\n",
    )
    .unwrap();
    let reports = cli.json(&[
        "replay",
        log.to_str().unwrap(),
        "--answers-from-log",
        "--threshold",
        "0.8,0.99",
        "--no-judge",
        "--json",
    ]);
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    for r in reports {
        assert_eq!(r["rows"], 5);
        assert_eq!(r["answered"], 5);
        assert_eq!(r["bad_rows"], 2);
        let lines: Vec<u64> =
            r["bad_row_list"].as_array().unwrap().iter().map(|b| b["line"].as_u64().unwrap()).collect();
        assert_eq!(lines, vec![7, 8]);
        assert!(r["latency_all"]["p50_ms"].as_f64().is_some());
        assert_eq!(r["session_hits"], 2, "the exact repeats: {r}");
    }
    // Row 6 repeats row 4's question with another answer: served from the session cache, it is a
    // false hit by that row's expectation.
    assert_eq!(reports[0]["false_hits"], 1, "{}", reports[0]);
    assert_eq!(reports[0]["false_hit_examples"][0]["line"], 6);
    // The longer wording (similarity 0.97) is served at 0.8 and not at 0.99 (the judge is off, so
    // the threshold alone decides).
    assert_eq!(reports[0]["semantic_hits"], 1, "{}", reports[0]);
    assert_eq!(reports[1]["semantic_hits"], 0, "{}", reports[1]);

    let missing = cli.run(&["replay", "/nonexistent/log.csv", "--json"]);
    assert_eq!(missing.status.code(), Some(2));
    std::fs::write(&log, "user,text\na,b\n").unwrap();
    let out = cli.run(&["replay", log.to_str().unwrap(), "--json"]);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("no `query` column"), "{err}");
}

#[tokio::test]
async fn serve_probes_and_metrics_scraped_by_a_real_prometheus() {
    let cli = Cli::new();
    let served = serve(&cli);
    let http = reqwest::Client::new();

    // Probes need no token and reveal no address or secret.
    let health = http.get(format!("{}/api/v1/healthz", served.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let text = health.text().await.unwrap();
    assert!(!text.contains("127.0.0.1") && !text.contains(&served.token), "{text}");
    let health: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(health["checks"]["database"]["state"], "ok", "{health}");
    assert_eq!(health["checks"]["redis"]["state"], "not_configured");
    assert_eq!(health["checks"]["llm_providers"]["state"], "ok");
    assert!(health["checks"]["database"]["latency_ms"].as_f64().is_some());
    let ready = http.get(format!("{}/api/v1/ready", served.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // Metrics need the token.
    let denied = http.get(format!("{}/metrics", served.base)).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let asked: Value = http
        .post(format!("{}/api/call/query", served.base))
        .bearer_auth(&served.token)
        .json(&serde_json::json!({"scope": {"user": "ops"}, "query": "Name a primary colour.", "settings": {"temperature": 0.0, "max_tokens": 16, "seed": 1}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked["source"], "model", "{asked}");
    let metrics = http.get(format!("{}/metrics", served.base)).bearer_auth(&served.token).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let body = metrics.text().await.unwrap();
    assert!(body.contains("simba_queries_total 1\n"), "{body}");
    assert!(body.contains("simba_query_latency_seconds_bucket{le=\"+Inf\"} 1\n"), "{body}");

    // A real Prometheus scrapes it with the token and reads the same figures.
    let port: u16 = served.base.rsplit(':').next().unwrap().parse().unwrap();
    let prometheus = simba_testkit::prometheus_with_token("simba", port, &served.token, 1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let instant = |query: &'static str| {
        let request = http.get(format!("{}/api/v1/query", prometheus.url())).query(&[("query", query)]);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let value = loop {
        let answer = instant("simba_queries_total{job=\"simba\"}").await;
        if let Some(v) = answer["data"]["result"][0]["value"][1].as_str() {
            break v.to_string();
        }
        assert!(Instant::now() < deadline, "Prometheus never scraped the metrics: {answer}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(value, "1");
    let up = instant("up{job=\"simba\"}").await;
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "the scrape parsed: {up}");
}

#[tokio::test]
async fn probes_say_503_when_the_models_are_missing() {
    let cli = Cli::new();
    let empty = cli.home.path().join("no-models");
    std::fs::create_dir_all(&empty).unwrap();
    let mut cmd = cli.command();
    cmd.env("SIMBA_MODELS_DIR", &empty);
    let served = common::serve_command(cmd, &cli, &[]);
    let http = reqwest::Client::new();
    let health = http.get(format!("{}/api/v1/healthz", served.base)).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["checks"]["llm_providers"]["state"], "down", "{health}");
    assert!(!health.to_string().contains(empty.to_str().unwrap()), "no paths in probes: {health}");
    let ready = http.get(format!("{}/api/v1/ready", served.base)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

#[test]
fn sql_runs_reads_through_the_results_cache_and_refuses_writes() {
    let pg = simba_testkit::PostgresServer::start().unwrap();
    pg.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);").unwrap();
    let cli = Cli::new();
    assert!(cli.run(&["profile", "add", "data", "--postgres", &pg.url()]).status.success());
    let first = cli.json(&["sql", "SELECT count(*) AS n FROM t", "--profile", "data", "--json"]);
    assert_eq!(first["rows"][0]["n"], 2);
    assert_eq!(first["cached"], false);
    assert_eq!(first["tables"][0], "t");
    // Each CLI run is its own process, so the cache lives in `serve` and the app; here: a refusal.
    let write = cli.run(&["sql", "DELETE FROM t", "--profile", "data", "--json"]);
    assert!(!write.status.success());
    let err: Value = serde_json::from_slice(&write.stdout).unwrap();
    assert_eq!(err["error"]["code"], "read_only", "{err}");
    assert_eq!(pg.psql("SELECT count(*) FROM t").unwrap().trim(), "2");
    let no_pg = cli.run(&["sql", "SELECT 1", "--profile", "embedded", "--json"]);
    let err: Value = serde_json::from_slice(&no_pg.stdout).unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("no PostgreSQL URL"), "{err}");
}
