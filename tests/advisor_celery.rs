//! The advisor's Celery findings and actions against a real Celery 5 worker (the venv from
//! `.ci/setup test`), with the issue's CLI forms: `advise`, `apply FINDING_ID --dry-run|--yes`,
//! `rollback AUDIT_ID --yes`. Every change is checked with Celery's own client
//! (`app.control.inspect`), never with simba-tuner's reading of it: a queue nobody consumes gets a
//! consumer and loses it again, a pool grows and shrinks back, a rate limit is set and lifted; a
//! change made behind the preview's back is refused; a read-only profile and a dead worker refuse.

mod common;

use common::{apply_args, refused_preview, Cli};
use serde_json::Value;
use simba_testkit::celery::{python, Worker, TASKS};
use simba_testkit::RedisServer;
use std::time::{Duration, Instant};

const HOST: &str = "w1@advisor-test";

/// What the worker itself answers, read with Celery's client.
const INSPECT: &str = r#"
import json, sys
from tasks import app
i = app.control.inspect(timeout=3, destination=[sys.argv[1]])
host = sys.argv[1]
queues = sorted(q["name"] for q in (i.active_queues() or {}).get(host, []))
stats = (i.stats() or {}).get(host, {})
registered = (i.registered("rate_limit") or {}).get(host, [])
print(json.dumps({"queues": queues, "processes": len(stats.get("pool", {}).get("processes", [])),
                  "registered": registered}))
"#;

struct Lab {
    venv: std::path::PathBuf,
    dir: tempfile::TempDir,
    broker: String,
}

impl Lab {
    fn inspect(&self) -> Value {
        serde_json::from_str(python(&self.venv, self.dir.path(), &self.broker, INSPECT, &[HOST]).trim()).unwrap()
    }

    /// Asks the worker until `ok` holds (a pool spawns its processes after answering).
    fn inspect_until(&self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let now = self.inspect();
            if ok(&now) {
                return now;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "the worker never showed {what}: {now}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn rate_line(v: &Value) -> String {
    v["registered"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.starts_with("tasks.llm"))
        .unwrap()
        .into()
}

fn error_code(out: &std::process::Output) -> String {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON error: {}", String::from_utf8_lossy(&out.stderr)));
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error: {v}")).to_string()
}

fn finding_ids(report: &Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn celery_findings_fixed_and_rolled_back_on_a_real_worker() {
    let venv = simba_testkit::celery_venv().expect("celery venv");
    let server = RedisServer::start().unwrap();
    let broker = server.url_db(2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.py"), TASKS).unwrap();
    let worker = Worker::start(
        &venv,
        dir.path(),
        &broker,
        &["-A", "tasks", "worker", "-Q", "llm_queue,data_queue", "-c", "2", "-E", "-n", HOST, "--loglevel", "INFO"],
    );
    let lab = Lab { venv, dir, broker: broker.clone() };
    let cli = Cli::new();
    let out = cli.run(&["profile", "add", "lab", "--celery-broker", &broker]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let start = Instant::now();
    while !cli.json(&["queues", "--broker", &broker, "--json"])["workers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["hostname"] == HOST && w["alive"] == true)
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "worker never alive:\n{}",
            std::fs::read_to_string(lab.dir.path().join("worker.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Work routed to a queue this worker does not read.
    python(&lab.venv, lab.dir.path(), &broker, "from tasks import vector\nfor i in range(5): vector.delay(i)", &[]);

    let report = cli.json(&["advise", "--profile", "lab", "--json"]);
    let id = "celery.unconsumed_queue:vector_queue";
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id}: {report:#}"));
    assert_eq!(finding["fix"]["action"], "celery.add_consumer");
    assert_eq!(finding["fix"]["params"]["worker"], HOST);

    // --dry-run: the exact command and the live before value; nothing sent.
    let preview = cli.json(&["apply", id, "--profile", "lab", "--dry-run", "--json"]);
    let statement = preview["statements"][0].as_str().unwrap();
    assert!(statement.contains("add_consumer") && statement.contains("vector_queue"), "{statement}");
    assert_eq!(preview["changes"][0]["before"], "data_queue,llm_queue");
    assert_eq!(preview["changes"][0]["after"], "data_queue,llm_queue,vector_queue");
    assert!(preview["notes"].to_string().contains("in memory only"), "{preview}");
    assert_eq!(lab.inspect()["queues"], serde_json::json!(["data_queue", "llm_queue"]));

    // A read-only profile on the same broker refuses before anything is sent.
    assert!(cli.run(&["profile", "add", "watch", "--read-only", "--celery-broker", &broker]).status.success());
    let out = cli.run(&["apply", id, "--profile", "watch", "--yes", "--json"]);
    assert!(!out.status.success());
    assert_eq!(error_code(&out), "read_only");

    // --yes: applied, confirmed by the worker, and the waiting tasks run.
    let entry = cli.json(&["apply", id, "--profile", "lab", "--yes", "--json"]);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    let audit_id = entry["id"].as_str().unwrap().to_string();
    lab.inspect_until("vector_queue consumed", |v| {
        v["queues"] == serde_json::json!(["data_queue", "llm_queue", "vector_queue"])
    });
    let mut con = redis::Client::open(broker.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let start = Instant::now();
    loop {
        let depth: u64 = redis::cmd("LLEN").arg("vector_queue").query_async(&mut con).await.unwrap();
        if depth == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "vector_queue still holds {depth}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let report = cli.json(&["advise", "--profile", "lab", "--json"]);
    assert!(!finding_ids(&report).contains(&id.to_string()), "{report:#}");
    let audit = cli.json(&["audit", "--profile", "lab", "--json"]);
    assert_eq!(audit[0]["id"], audit_id.as_str());
    assert_eq!(audit[0]["changes"][0]["before"], "data_queue,llm_queue");

    // rollback --yes: the worker stops consuming it again.
    let undone = cli.json(&["rollback", &audit_id, "--profile", "lab", "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(undone["rollback_of"], audit_id.as_str());
    lab.inspect_until("vector_queue dropped", |v| v["queues"] == serde_json::json!(["data_queue", "llm_queue"]));

    // The pool: a change behind the preview's back is refused, a fresh preview applies.
    let resize = |n: &str| -> Vec<String> {
        ["action", "preview", "celery.pool_resize", "--profile", "lab", "--param", &format!("worker={HOST}")]
            .iter()
            .map(|s| s.to_string())
            .chain(["--param".into(), format!("processes={n}"), "--json".into()])
            .collect()
    };
    let args = resize("4");
    let preview = cli.json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(preview["changes"][0]["before"], "2");
    assert!(preview["statements"][0].as_str().unwrap().contains("pool_grow {\"n\":2}"), "{preview}");
    python(
        &lab.venv,
        lab.dir.path(),
        &broker,
        &format!("from tasks import app\napp.control.pool_grow(1, destination=['{HOST}'], reply=True, timeout=3)"),
        &[],
    );
    lab.inspect_until("3 processes", |v| v["processes"] == 3);
    let mut stale = args.clone();
    stale[1] = "apply".into();
    stale.extend(["--confirm".into(), preview["confirm_token"].as_str().unwrap().into()]);
    let out = cli.run(&stale.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert_eq!(error_code(&out), "conflict");
    assert_eq!(lab.inspect()["processes"], 3);

    let preview = cli.json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(preview["changes"][0]["before"], "3");
    let mut apply = args.clone();
    apply[1] = "apply".into();
    apply.extend(["--confirm".into(), preview["confirm_token"].as_str().unwrap().into()]);
    let entry = cli.json(&apply.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert_eq!(lab.inspect()["processes"], 4);
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert!(undone["statements"][0].as_str().unwrap().contains("pool_shrink {\"n\":1}"), "{undone}");
    lab.inspect_until("the pool back at 3", |v| v["processes"] == 3);

    // A rate limit on every live worker, and lifted again.
    // Celery lists only the fields that are set: no limit, no `rate_limit=`.
    assert!(!rate_line(&lab.inspect()).contains("rate_limit="), "{}", rate_line(&lab.inspect()));
    let rate = [
        "action",
        "preview",
        "celery.rate_limit",
        "--profile",
        "lab",
        "--param",
        "task=tasks.llm",
        "--param",
        "rate=10/m",
        "--json",
    ];
    let preview = cli.json(&rate);
    assert_eq!(preview["changes"][0]["name"], format!("rate_limit of tasks.llm on {HOST}"));
    assert_eq!(preview["changes"][0]["before"], "none");
    let entry = cli.json(&apply_args(&rate, &preview));
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert!(rate_line(&lab.inspect()).contains("rate_limit=10/m"), "{}", rate_line(&lab.inspect()));
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    let line = rate_line(&lab.inspect());
    assert!(!line.contains("rate_limit="), "{line}");

    // A name no worker registered: refused at preview with the reason.
    refused_preview(&cli, "celery.rate_limit", "lab", &["task=tasks.nope", "rate=1/s"]);

    // The worker gone: a clear refusal, nothing half-done in the audit log.
    drop(worker);
    let before = cli.json(&["audit", "--profile", "lab", "--json"]).as_array().unwrap().len();
    let out = cli.run(&resize("5").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert_eq!(error_code(&out), "unreachable");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(cli.json(&["audit", "--profile", "lab", "--json"]).as_array().unwrap().len(), before);
}
