//! `simba-tuner queues` against a real Redis broker with a real Celery worker (a venv from
//! `.ci/setup test`, see simba_testkit::celery_venv): depths against LLEN, task names decoded from
//! the queued messages (one gzip-compressed), the worker alive from its heartbeats with its queues
//! (--inspect), a queue nobody consumes flagged, then the worker SIGKILLed: shown dead after two
//! heartbeat intervals, its acks_late messages still in flight.

mod common;

use common::Cli;
use serde_json::Value;
use simba_testkit::celery::{python, Worker, TASKS};
use simba_testkit::RedisServer;
use std::time::{Duration, Instant};

const ENQUEUE: &str = r#"
from tasks import app, llm, data, vector, slow
for i in range(2): slow.apply_async((120,))
for i in range(12): llm.apply_async((i,), priority=6)
for i in range(12): data.apply_async((i,))
for i in range(12): vector.apply_async((i,))
# nobody consumes these: one queue no worker listens to, and a module-style name that falls into 'celery'
for i in range(4): app.send_task("tasks.orphan", args=(i,), queue="orphan_queue")
app.send_task("tasks.data", args=(99,), kwargs={"k": "v"}, queue="orphan_queue", compression="gzip")
for i in range(3): app.send_task("platform.tasks.embed_document", args=(i,))
"#;

async fn lens(con: &mut redis::aio::MultiplexedConnection, queue: &str) -> Vec<u64> {
    let mut out = vec![];
    for k in [queue.to_string(), format!("{queue}\x06\x163"), format!("{queue}\x06\x166"), format!("{queue}\x06\x169")]
    {
        out.push(redis::cmd("LLEN").arg(k).query_async(con).await.unwrap());
    }
    out
}

fn queue<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["queues"].as_array().unwrap().iter().find(|q| q["name"] == name).unwrap_or_else(|| panic!("no queue {name}: {r}"))
}

fn worker<'a>(r: &'a Value, host: &str) -> Option<&'a Value> {
    r["workers"].as_array().unwrap().iter().find(|w| w["hostname"] == host)
}

fn tasks_of(q: &Value) -> Vec<(String, u64)> {
    q["task_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task"].as_str().unwrap().to_string(), t["count"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn queues_report_from_a_real_celery_worker() {
    let venv = simba_testkit::celery_venv().expect("celery venv");
    let server = RedisServer::start().unwrap();
    // A database other than 0: the event and pidbox channels carry the number.
    let broker = server.url_db(3);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.py"), TASKS).unwrap();
    let host = "w1@queues-test";
    let mut w = Worker::start(
        &venv,
        dir.path(),
        &broker,
        &[
            "-A",
            "tasks",
            "worker",
            "-Q",
            "llm_queue,data_queue,vector_queue",
            "-c",
            "2",
            "-E",
            "-n",
            host,
            "--loglevel",
            "INFO",
        ],
    );
    let cli = Cli::new();
    let mut con = redis::Client::open(broker.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();

    // The worker is up once it sends heartbeats.
    let start = Instant::now();
    loop {
        let r = cli.json(&["queues", "--broker", &broker, "--json"]);
        if worker(&r, host).map(|w| w["alive"] == true).unwrap_or(false) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "worker never alive: {r}\n{}",
            std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default()
        );
    }

    python(&venv, dir.path(), &broker, ENQUEUE, &[]);
    // Both processes busy with the slow acks_late tasks and the prefetch full: the queues hold still.
    let mut last = vec![];
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut now = vec![];
        for q in ["llm_queue", "data_queue", "vector_queue"] {
            now.push(lens(&mut con, q).await);
        }
        if now == last {
            break;
        }
        last = now;
    }

    let r = cli.json(&["queues", "--broker", &broker, "--json", "--inspect", "--visibility-timeout", "3600"]);
    assert_eq!(r["celery_broker"], true);
    assert_eq!(r["db"], 3);
    for q in ["llm_queue", "data_queue", "vector_queue", "orphan_queue", "celery"] {
        let l = lens(&mut con, q).await;
        let got = queue(&r, q);
        assert_eq!(got["depth"].as_u64().unwrap(), l.iter().sum::<u64>(), "{q}: {got}");
        let buckets: Vec<u64> = got["buckets"].as_array().unwrap().iter().map(|b| b["len"].as_u64().unwrap()).collect();
        assert_eq!(buckets, l, "{q} buckets");
    }
    // The priority-6 llm tasks sit in their own bucket.
    let llm = queue(&r, "llm_queue");
    assert!(llm["buckets"][2]["len"].as_u64().unwrap() > 0, "{llm}");
    assert!(tasks_of(llm).iter().any(|(t, _)| t == "tasks.llm"), "{llm}");
    assert!(tasks_of(queue(&r, "data_queue")).iter().any(|(t, _)| t == "tasks.data"));
    // The orphan queue: 4 plain and one gzip-compressed (zlib) message, all decoded.
    let orphan = queue(&r, "orphan_queue");
    assert_eq!(orphan["depth"], 5);
    assert_eq!(orphan["undecodable"], 0);
    let mut ot = tasks_of(orphan);
    ot.sort();
    assert_eq!(ot, vec![("tasks.data".to_string(), 1), ("tasks.orphan".to_string(), 4)]);
    // The misrouted module-style name, visible in 'celery'.
    assert_eq!(tasks_of(queue(&r, "celery")), vec![("platform.tasks.embed_document".to_string(), 3)]);

    // The worker: alive from its heartbeats, with its queues from inspect.
    let wk = worker(&r, host).unwrap_or_else(|| panic!("no worker: {r}"));
    assert_eq!(wk["alive"], true, "{wk}");
    assert_eq!(wk["freq"], 2.0);
    assert!(wk["sw_ver"].as_str().unwrap().starts_with('5'));
    let mut wq: Vec<&str> = wk["queues"].as_array().unwrap().iter().map(|q| q.as_str().unwrap()).collect();
    wq.sort();
    assert_eq!(wq, vec!["data_queue", "llm_queue", "vector_queue"]);
    assert_eq!(queue(&r, "llm_queue")["consumers"][0], host);
    assert!(r["inspect"]["replies"][host]["ping"].is_object(), "{}", r["inspect"]);
    // The reply bindings added for inspect are gone again.
    let left: Vec<String> =
        redis::cmd("SMEMBERS").arg("_kombu.binding.reply.celery.pidbox").query_async(&mut con).await.unwrap();
    assert!(left.is_empty(), "{left:?}");

    let findings: Vec<&Value> = r["findings"].as_array().unwrap().iter().collect();
    for q in ["orphan_queue", "celery"] {
        let f = findings.iter().find(|f| f["queue"] == q).unwrap_or_else(|| panic!("{q} not flagged: {findings:?}"));
        assert!(f["message"].as_str().unwrap().contains("no live worker consumes"), "{f}");
    }
    assert!(!findings.iter().any(|f| f["queue"] == "llm_queue"), "{findings:?}");

    // In flight: the two running acks_late tasks (and the prefetched ones) are in 'unacked'.
    let unacked: u64 = redis::cmd("HLEN").arg("unacked").query_async(&mut con).await.unwrap();
    assert!(unacked >= 2);
    assert_eq!(r["in_flight"]["count"].as_u64().unwrap(), unacked);
    let slow_in_flight =
        |r: &Value| r["in_flight"]["messages"].as_array().unwrap().iter().filter(|m| m["task"] == "tasks.slow").count();
    assert_eq!(slow_in_flight(&r), 2, "{}", r["in_flight"]);
    assert!(r["in_flight"]["oldest_age_seconds"].as_f64().unwrap() < 120.0);

    // SIGKILL: no worker-offline event, the pidbox binding stays.
    w.kill();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let r = cli.json(&["queues", "--broker", &broker, "--json", "--visibility-timeout", "1"]);
    let wk = worker(&r, host).unwrap_or_else(|| panic!("dead worker not listed: {r}"));
    assert_eq!(wk["alive"], false, "{wk}");
    assert_eq!(wk["state"], "no heartbeat");
    assert_eq!(slow_in_flight(&r), 2, "{}", r["in_flight"]);
    assert!(r["in_flight"]["past_visibility_timeout"].as_u64().unwrap() >= 2);
    assert!(r["findings"].as_array().unwrap().iter().any(|f| f["message"].as_str().unwrap().contains(host)));
    drop(w);
}

#[test]
fn clear_errors_and_a_redis_that_is_not_a_celery_broker() {
    let cli = Cli::new();
    // Nothing listens there.
    let port = simba_testkit::free_port();
    let out = cli.run(&["queues", "--broker", &format!("redis://127.0.0.1:{port}/0"), "--json"]);
    assert!(!out.status.success());
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("cannot reach"), "{e}");
    // Not a Redis URL.
    let out = cli.run(&["queues", "--broker", "http://127.0.0.1:1/", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    // A plain Redis with other keys: a report that says so, no crash.
    let server = RedisServer::start().unwrap();
    let mut con = redis::Client::open(server.url_db(2).as_str()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let r = cli.json(&["queues", "--broker", &server.url_db(2), "--json", "--listen", "0.2"]);
    assert_eq!(r["celery_broker"], false);
    assert!(r["workers"].as_array().unwrap().is_empty());
    assert!(r["findings"][0]["message"].as_str().unwrap().contains("does not look like a Celery broker"), "{r}");
}

#[test]
fn a_profile_without_a_broker_says_how_to_add_one() {
    let cli = Cli::new();
    let server = RedisServer::start().unwrap();
    let out = cli.run(&["profile", "add", "p1", "--redis", &server.url()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli.run(&["queues", "--profile", "p1", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains("--celery-broker URL"), "{e}");
    // With one, the report reads it.
    let out = cli.run(&["profile", "add", "p2", "--celery-broker", &server.url_db(4)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = cli.json(&["queues", "--profile", "p2", "--json", "--listen", "0.2"]);
    assert_eq!(r["db"], 4);
    assert_eq!(r["celery_broker"], false);
}

const SIMBA_TASKS: &str = r#"
import os
from celery import Celery
app = Celery("simba", broker=os.environ["BROKER"], backend=os.environ["BROKER"])

@app.task(name="simba.add")
def add(a, b, scale=1):
    return (a + b) * scale
"#;

/// The engine sends a job the way Celery does: the Queues report shows it (task name decoded, on
/// llm_queue), a real Celery worker runs it, and the engine reads its result from the backend.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_celery_worker_runs_a_job_the_engine_sent() {
    let venv = simba_testkit::celery_venv().expect("celery venv");
    let server = RedisServer::start().unwrap();
    let broker = server.url_db(2);
    let cli = Cli::new();
    assert!(cli.run(&["profile", "add", "jobs", "--celery-broker", &broker]).status.success());
    assert!(cli.run(&["profile", "add", "jobs-ro", "--celery-broker", &broker, "--read-only"]).status.success());

    // Queued with nobody consuming: visible as the platform's own jobs are.
    let pending = cli.json(&[
        "task",
        "simba.add",
        "--kind",
        "llm",
        "--args",
        "[2, 3]",
        "--kwargs",
        "{\"scale\": 10}",
        "--profile",
        "jobs",
        "--wait",
        "0",
        "--json",
    ]);
    assert_eq!(pending["status"], "PENDING", "{pending}");
    let id = pending["task_id"].as_str().unwrap().to_string();
    let r = cli.json(&["queues", "--profile", "jobs", "--json"]);
    let q = queue(&r, "llm_queue");
    assert_eq!(q["depth"], 1, "{q}");
    assert_eq!(tasks_of(q), vec![("simba.add".to_string(), 1)]);

    // A read-only profile never writes to the broker.
    let refused = cli.run(&["task", "simba.add", "--args", "[1, 1]", "--profile", "jobs-ro", "--json"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("read_only"));
    let mut con = redis::Client::open(broker.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    assert_eq!(lens(&mut con, "llm_queue").await[0], 1);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("simba_tasks.py"), SIMBA_TASKS).unwrap();
    let _worker = Worker::start(
        &venv,
        dir.path(),
        &broker,
        &["-A", "simba_tasks", "worker", "-Q", "llm_queue", "-c", "1", "-n", "simba@jobs-test", "--loglevel", "INFO"],
    );

    // The engine reads the result of the job it sent; a second job, sent with the worker up.
    let client = {
        let profile =
            simba_core::profiles::ResolvedProfile::ad_hoc(&[(simba_core::profiles::Service::Redis, &broker)]).unwrap();
        simba_core::engine::work::CeleryClient::new(
            profile.endpoint(simba_core::profiles::Service::Redis).unwrap().clone(),
        )
    };
    let done = client.result(&id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        done.status,
        "SUCCESS",
        "{done:?}\n{}",
        std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default()
    );
    assert_eq!(done.result, Some(serde_json::json!(50)));
    let second = cli.json(&["task", "simba.add", "--args", "[4, 5]", "--profile", "jobs", "--wait", "60", "--json"]);
    assert_eq!(second["status"], "SUCCESS", "{second}");
    assert_eq!(second["result"], 9);
    let _ = Instant::now();
    let bad = cli.run(&["task", "simba.add", "--args", "{not json", "--profile", "jobs", "--json"]);
    assert_eq!(bad.status.code(), Some(2));
}
