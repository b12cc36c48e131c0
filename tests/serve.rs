//! `simba-tuner serve`: the same commands over HTTP, guarded by the printed token.

mod common;

use common::Cli;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

struct Served {
    child: Child,
    base: String,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(cli: &Cli) -> Served {
    let mut child = cli
        .command()
        .args(["serve", "--port", "0"])
        .env("SIMBA_UI_DIR", cli.home.path().join("ui"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::fs::create_dir_all(cli.home.path().join("ui")).unwrap();
    std::fs::write(cli.home.path().join("ui/index.html"), "<html><body>ui-index</body></html>").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    // "Simba Tuner is serving on http://127.0.0.1:PORT/?token=TOKEN"
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}"));
    let (base, token) = url.split_once("/?token=").unwrap();
    Served { child, base: base.to_string(), token: token.to_string() }
}

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
