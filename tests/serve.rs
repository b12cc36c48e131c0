//! `simba-tuner serve`: the same commands over HTTP, guarded by the printed token.

mod common;

use common::{serve, serve_with, Cli, Served};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[tokio::test]
async fn api_needs_the_token_and_answers_like_the_cli() {
    let redis_server = simba_testkit::RedisServer::start().unwrap();
    let cli = Cli::new();
    let out = cli.run(&["profile", "add", "local", "--redis", &redis_server.url()]);
    assert!(out.status.success());
    let served = serve(&cli);
    assert!(served.base.starts_with("http://127.0.0.1:"));
    assert_eq!(served.token.len(), 32);
    let http = reqwest::Client::new();

    let denied =
        http.post(format!("{}/api/call/status", served.base)).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let body: serde_json::Value = denied.json().await.unwrap();
    assert_eq!(body["code"], "refused");
    let wrong = http
        .post(format!("{}/api/call/status", served.base))
        .bearer_auth("0".repeat(32))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let call = |command: &str, args: serde_json::Value| {
        http.post(format!("{}/api/call/{command}", served.base)).bearer_auth(&served.token).json(&args).send()
    };
    let ok = call("status", serde_json::json!({"profile": "local"})).await.unwrap();
    assert_eq!(ok.status(), 200);
    let report: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(report["profile"], "local");
    assert_eq!(report["redis"]["state"], "ok");
    let cli_report = cli.json(&["status", "--profile", "local", "--json"]);
    assert_eq!(report["redis"]["data"]["version"], cli_report["redis"]["data"]["version"]);
    assert_eq!(report["redis"]["data"]["keys_total"], cli_report["redis"]["data"]["keys_total"]);

    let profiles: serde_json::Value =
        call("list_profiles", serde_json::Value::Null).await.unwrap().json().await.unwrap();
    assert!(profiles.as_array().unwrap().iter().any(|p| p["name"] == "local"));

    // Errors keep their code and map to an HTTP status.
    let missing = call("status", serde_json::json!({"profile": "nope"})).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<serde_json::Value>().await.unwrap()["code"], "not_found");
    let bad = call("save_profile", serde_json::json!({"name": "x", "redis_url": "ftp://h"})).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.json::<serde_json::Value>().await.unwrap()["message"].as_str().unwrap().contains("redis://"));
    let unknown = call("no_such_command", serde_json::json!({})).await.unwrap();
    assert_eq!(unknown.status(), 404);
    let not_json = http
        .post(format!("{}/api/call/status", served.base))
        .bearer_auth(&served.token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);

    // The UI is served without the token (it carries it to the API itself).
    let page = http.get(format!("{}/", served.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ui-index"));
}

impl Served {
    /// host:port, as a raw client connects to it.
    fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.authority()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
    }
}

/// Reads until the server closes the connection (or, with `until` seen, stops there).
fn read_some(stream: &mut TcpStream, until: Option<&str>) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if until.is_some_and(|u| String::from_utf8_lossy(&got).contains(u)) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read: {e} after {:?}", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// One request on a fresh connection; the whole answer.
fn exchange(served: &Served, request: &str) -> String {
    let mut stream = served.connect();
    stream.write_all(request.as_bytes()).unwrap();
    read_some(&mut stream, None)
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

#[test]
fn a_half_sent_head_is_dropped_after_the_header_timeout() {
    let cli = Cli::new();
    let served = serve(&cli);
    let mut stream = served.connect();
    let start = Instant::now();
    stream.write_all(format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Slow: ", served.authority()).as_bytes()).unwrap();
    let answer = read_some(&mut stream, None);
    let waited = start.elapsed();
    // The default header timeout is 10 s; nothing was served.
    assert!(waited >= Duration::from_secs(8) && waited < Duration::from_secs(20), "{waited:?} {answer:?}");
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[test]
fn a_wrong_token_is_refused_before_the_body_is_read() {
    let cli = Cli::new();
    let served = serve(&cli);
    let mut stream = served.connect();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Announce 2 MB and send none of it: the answer must not wait for the body.
    let head = format!(
        "POST /api/call/status HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n",
        served.authority(),
        "0".repeat(32)
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_some(&mut stream, Some("\r\n\r\n"));
    assert!(status_line(&answer).contains(" 401 "), "{answer:?}");
    // Nor may a client with the token send more than the limit, or send it forever.
    let big = exchange(
        &served,
        &format!(
            "POST /api/call/status HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 3000000\r\n\r\n",
            served.authority(),
            served.token
        ),
    );
    assert!(status_line(&big).contains(" 413 "), "{big:?}");
}

#[test]
fn a_body_that_never_comes_and_an_idle_connection_are_closed() {
    let cli = Cli::new();
    let served = serve_with(&cli, &["--header-timeout", "1", "--body-timeout", "1"]);
    let mut stream = served.connect();
    let start = Instant::now();
    let head = format!(
        "POST /api/call/list_profiles HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{",
        served.authority(),
        served.token
    );
    stream.write_all(head.as_bytes()).unwrap();
    let answer = read_some(&mut stream, None);
    assert!(status_line(&answer).contains(" 408 "), "{answer:?}");
    assert!(start.elapsed() < Duration::from_secs(5));

    // A keep-alive connection that asks nothing more is closed after the header timeout.
    let mut stream = served.connect();
    let request = format!(
        "GET /api/commands HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        served.authority(),
        served.token
    );
    stream.write_all(request.as_bytes()).unwrap();
    let first = read_some(&mut stream, Some("cache_lookup"));
    assert!(status_line(&first).contains(" 200 "), "{first:?}");
    let start = Instant::now();
    let rest = read_some(&mut stream, None);
    assert!(start.elapsed() < Duration::from_secs(5), "idle connection held {:?}", start.elapsed());
    assert!(!rest.contains("HTTP/1.1"), "{rest:?}");
}

#[test]
fn connections_past_the_limit_are_refused_with_503() {
    let cli = Cli::new();
    let served = serve_with(&cli, &["--max-connections", "2"]);
    let held: Vec<TcpStream> = (0..2).map(|_| served.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let request = format!(
        "GET /api/commands HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        served.authority(),
        served.token
    );
    let refused = exchange(&served, &request);
    assert!(status_line(&refused).contains(" 503 "), "{refused:?}");
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let served_again = exchange(&served, &request);
    assert!(status_line(&served_again).contains(" 200 "), "{served_again:?}");
}

#[test]
fn other_host_names_are_refused() {
    let cli = Cli::new();
    let served = serve_with(&cli, &["--allow-host", "tunnel.example:9000"]);
    let port = served.authority().rsplit_once(':').unwrap().1.to_string();
    let get = |host: &str, path: &str| {
        exchange(
            &served,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
                served.token
            ),
        )
    };
    // A page from another site whose name was made to resolve to 127.0.0.1 (DNS rebinding).
    for host in [format!("evil.example:{port}"), format!("localhost.evil.example:{port}"), "127.0.0.1:1".into()] {
        for path in ["/", "/api/commands"] {
            let answer = get(&host, path);
            assert!(status_line(&answer).contains(" 421 "), "{host} {path}: {answer:?}");
        }
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "tunnel.example:9000".into(),
    ] {
        let answer = get(&host, "/api/commands");
        assert!(status_line(&answer).contains(" 200 "), "{host}: {answer:?}");
    }
}

#[test]
fn the_ui_serves_no_dotfiles_and_no_links_out_of_its_folder() {
    let cli = Cli::new();
    let served = serve(&cli);
    let ui = cli.home.path().join("ui");
    let outside = cli.home.path().join("outside.txt");
    std::fs::write(&outside, "outside-secret").unwrap();
    std::fs::write(ui.join(".env"), "TOKEN=env-secret").unwrap();
    std::os::unix::fs::symlink(&outside, ui.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", ui.join("hostname")).unwrap();
    std::fs::write(ui.join("app.js"), "app-js").unwrap();
    let get = |path: &str| {
        exchange(&served, &format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", served.authority()))
    };
    for path in ["/.env", "/%2eenv", "/leak.txt", "/hostname"] {
        let answer = get(path);
        assert!(status_line(&answer).contains(" 404 "), "{path}: {answer:?}");
        assert!(!answer.contains("secret"), "{path}: {answer:?}");
    }
    assert!(get("/app.js").contains("app-js"));
    assert!(get("/some/ui/route").contains("ui-index"));
}

#[test]
fn a_short_token_is_refused() {
    let cli = Cli::new();
    let mut child = cli
        .command()
        .args(["serve", "--port", "0"])
        .env("SIMBA_SERVE_TOKEN", "secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("serve started with a 6-character token");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("at least 32"), "{err}");
}

#[tokio::test]
async fn a_read_only_server_refuses_every_write() {
    let cli = Cli::new();
    let served = serve_with(&cli, &["--read-only"]);
    let http = reqwest::Client::new();
    let call = |command: &str, args: serde_json::Value| {
        http.post(format!("{}/api/call/{command}", served.base)).bearer_auth(&served.token).json(&args).send()
    };
    let refused =
        call("save_profile", serde_json::json!({"name": "x", "redis_url": "redis://127.0.0.1:1"})).await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "read_only");
    assert!(body["message"].as_str().unwrap().contains("--read-only"), "{body}");
    let refused = call("cache_invalidate", serde_json::json!({"all": true})).await.unwrap();
    assert_eq!(refused.status(), 403);
    // A streamed query may write the cache: refused the same way, before any event.
    let refused = http
        .post(format!("{}/api/stream/query", served.base))
        .bearer_auth(&served.token)
        .json(&serde_json::json!({"scope": {"user": "alice"}, "query": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["code"], "read_only");
    // Reads still work, and nothing was saved.
    let profiles: serde_json::Value = call("list_profiles", serde_json::json!({})).await.unwrap().json().await.unwrap();
    assert!(profiles.as_array().unwrap().iter().all(|p| p["name"] != "x"), "{profiles}");
}

/// The events of a server-sent-events body: each one's name and its data parsed as JSON
/// (keep-alive comments carry no data and are left out).
fn sse_events(body: &str) -> Vec<(String, serde_json::Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = String::new();
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            (!data.is_empty()).then(|| {
                let json = data.join("\n");
                (name, serde_json::from_str(&json).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {json}")))
            })
        })
        .collect()
}

#[tokio::test]
async fn a_query_streams_as_server_sent_events_and_refusals_answer_as_call_does() {
    let cli = Cli::new();
    let served = serve(&cli);
    let http = reqwest::Client::new();
    let post = |route: &str, command: &str, body: String| {
        http.post(format!("{}/api/{route}/{command}", served.base))
            .bearer_auth(&served.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let ask = |question: &str| {
        serde_json::json!({
            "scope": {"user": "alice"},
            "query": question,
            "settings": {"temperature": 0.0, "max_tokens": 48, "seed": 42},
        })
        .to_string()
    };
    let question = "What is the capital of France?";

    // Without the token: refused before anything runs, as /api/call refuses it.
    let denied = http.post(format!("{}/api/stream/query", served.base)).body(ask(question)).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    assert!(denied.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(denied.json::<serde_json::Value>().await.unwrap()["code"], "refused");

    let streamed = post("stream", "query", ask(question)).await.unwrap();
    assert_eq!(streamed.status(), 200);
    assert!(streamed.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let events = sse_events(&streamed.text().await.unwrap());
    let (last_name, last) = events.last().expect("no events");
    assert_eq!(last_name, "answer", "{events:?}");
    let answer = &last["answer"];
    assert_eq!((answer["outcome"].as_str(), answer["source"].as_str()), (Some("miss"), Some("model")), "{answer}");
    assert_eq!(answer["cached"], true, "{answer}");
    let mut text = String::new();
    let mut pieces = 0;
    for (name, event) in &events {
        assert_eq!(event["kind"], name.as_str(), "the event's name is its kind");
        match name.as_str() {
            "text" => {
                text.push_str(event["text"].as_str().unwrap());
                pieces += 1;
            }
            "restart" => text.clear(),
            "answer" => {}
            other => panic!("unexpected event {other}: {events:?}"),
        }
    }
    assert!(pieces > 1, "the model's answer should come in pieces: {events:?}");
    assert_eq!(text, answer["answer"].as_str().unwrap(), "the pieces join to exactly the answer");
    // Cached whole: /api/call now answers it from the cache with the same text.
    let called: serde_json::Value = post("call", "query", ask(question)).await.unwrap().json().await.unwrap();
    assert_eq!(called["outcome"], "hit", "{called}");
    assert_eq!(called["answer"], answer["answer"]);

    // Refused before any text: the status and JSON error /api/call gives.
    for (command, body, status) in [
        ("no_such_command", "{}".to_string(), 404),
        ("query", r#"{"scope": 5}"#.to_string(), 400),
        ("query", ask("   "), 400),
        ("query", "{nope".to_string(), 400),
    ] {
        let refused = post("stream", command, body.clone()).await.unwrap();
        assert_eq!(refused.status(), status, "{command} {body}");
        let refused: serde_json::Value = refused.json().await.unwrap();
        let called: serde_json::Value = post("call", command, body.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(refused, called, "{command} {body}");
    }
    let not_streamed = post("stream", "list_profiles", "{}".into()).await.unwrap();
    assert_eq!(not_streamed.status(), 400);
    let err: serde_json::Value = not_streamed.json().await.unwrap();
    assert_eq!(err["code"], "invalid_input");
    assert!(err["message"].as_str().unwrap().contains("the commands that do: query"), "{err}");
    let listed: serde_json::Value = http
        .get(format!("{}/api/commands", served.base))
        .bearer_auth(&served.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let streams: Vec<_> =
        listed.as_array().unwrap().iter().filter(|c| c["streams"] == true).map(|c| &c["name"]).collect();
    assert_eq!(streams, ["query"]);

    // A client that goes away mid-answer: the query still finishes, whole, and the server goes on.
    let answered = |http: &reqwest::Client| {
        let req = http.get(format!("{}/metrics", served.base)).bearer_auth(&served.token);
        async move {
            let text = req.send().await.unwrap().text().await.unwrap();
            let count = text.lines().find_map(|l| l.strip_prefix("simba_query_latency_seconds_count "));
            count.map_or(0.0, |n| n.trim().parse::<f64>().unwrap())
        }
    };
    let before = answered(&http).await;
    let other = "Name three primary colours.";
    let body = ask(other);
    let mut stream = served.connect();
    stream
        .write_all(
            format!(
                "POST /api/stream/query HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                served.authority(),
                served.token,
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
    let head = read_some(&mut stream, Some("event: text"));
    assert!(status_line(&head).contains(" 200 "), "{head:?}");
    drop(stream);
    // Answered queries are counted once whole (and cached).
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered(&http).await <= before {
        assert!(Instant::now() < deadline, "the abandoned query never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let again: serde_json::Value = post("call", "query", ask(other)).await.unwrap().json().await.unwrap();
    assert_eq!(again["outcome"], "hit", "the abandoned answer was cached whole: {again}");
}
