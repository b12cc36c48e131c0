//! The cluster's faults from the outside: a Prometheus answering 503 with its error shape, or
//! cut-off JSON, gives a message that says what to do (the panels report each failing panel and
//! keep the rest), and a Kubernetes API refusing the sampler's token leaves a gap whose reason
//! names the problem and holds no secret. The answers come from a one-purpose local HTTP server
//! (fault injection); the shapes are Prometheus's and the API server's own.

mod common;

use common::Cli;
use serde_json::Value;
use simba_core::profiles::{ProfileInput, ProfileStore};
use simba_core::Service;
use std::io::{Read, Write};
use std::net::TcpListener;

/// Serves `answer(path)` (status, content type, body) to every request, from a thread.
fn responder(answer: fn(&str) -> (u16, &'static str, String)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, ctype, body) = answer(&path);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn prometheus_overloaded_or_cut_off_says_what_to_do() {
    let cli = Cli::new();
    // 503 with Prometheus's error shape (as when its query queue is full).
    let busy = responder(|_| {
        (503, "application/json", r#"{"status":"error","errorType":"unavailable","error":"query queue full"}"#.into())
    });
    let out = cli.run(&["prom", "query", "up", "--prometheus", &busy, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["error"]["code"], "unreachable", "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("HTTP 503, unavailable") && msg.contains("query queue full") && msg.contains("try again"),
        "{msg}"
    );

    // 200 with JSON cut off in the middle (a proxy dropping the connection).
    let cut = responder(|_| (200, "application/json", r#"{"status":"success","data":{"resultType":"vec"#.into()));
    let out = cli.run(&["prom", "query", "up", "--prometheus", &cut, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("not the Prometheus API") && msg.contains("check the URL"), "{msg}");

    // The panels: every panel carries the error, the report itself still comes.
    let out = cli.run(&["profile", "add", "busy", "--prometheus", &busy]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let panels = cli.json(&["prom", "panels", "--profile", "busy", "--json"]);
    let list = panels["panels"].as_array().unwrap();
    assert!(!list.is_empty(), "{panels}");
    for p in list {
        let err = p["error"]["message"].as_str().unwrap_or_else(|| panic!("panel without its error: {p}"));
        assert!(err.contains("HTTP 503"), "{p}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kubernetes_token_refused_is_a_gap_without_the_token() {
    let secret = common::test_secret("k8s-wrong");
    let api = responder(|_| {
        (
            401,
            "application/json",
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#.into(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let engine = simba_core::engine::Engine::new(
        dir.path().join("no-model"),
        simba_core::engine::Backend::Embedded { path: dir.path().join("data").join("cache.db") },
    );
    let service =
        Service::open_with_history(ProfileStore::new(dir.path().join("cfg")), engine, dir.path().join("h.db")).unwrap();
    service
        .save_profile(ProfileInput {
            name: "k".into(),
            kubernetes_url: Some(api.clone()),
            kubernetes_token: Some(secret.clone()),
            ..Default::default()
        })
        .unwrap();
    let round = service.sample_round(Some(&["k".to_string()])).await.unwrap();
    let reason = round[0].last_error.clone().expect("a gap");
    assert!(reason.contains("401 Unauthorized") && reason.contains("token"), "{reason}");
    assert!(!reason.contains(&secret), "{reason}");
    for file in ["h.db", "h.db-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains(&secret), "the token reached {file}");
    }
    // The alerts say why they cannot judge.
    let alerts = service.alerts_of(&service.resolve_profile("k").unwrap()).await.unwrap();
    let pinned = alerts.alerts.iter().find(|a| a.rule == "k8s_hpa_pinned_at_max").unwrap();
    assert_eq!(pinned.state, "not_enough_data");
    assert!(pinned.detail.contains("401"), "{}", pinned.detail);
}
