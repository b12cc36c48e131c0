//! The broker's faults and bad input, against real servers: a million-message queue is measured
//! by LLEN and a bounded sample (never read whole), undecodable messages are counted and the rest
//! still decoded, and a broker restarted under the sampler leaves a gap, after which the samples
//! and the worker heartbeats come back by themselves (a real Celery worker reconnecting).

mod common;

use common::Cli;
use redis::AsyncCommands;
use simba_core::profiles::{ProfileInput, ProfileStore};
use simba_core::Service;
use simba_testkit::celery::{Worker, TASKS};
use simba_testkit::RedisServer;
use std::time::{Duration, Instant};

fn commandstat(info: &str, command: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_million_messages_and_undecodable_ones() {
    let server = RedisServer::start().unwrap();
    let broker = server.url_db(0);
    let mut conn = redis::Client::open(broker.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    // 1,000,000 messages in 100 server-side batches.
    let fill = redis::Script::new(
        "for i = 1, 10000 do redis.call('RPUSH', KEYS[1], ARGV[1]) end return redis.call('LLEN', KEYS[1])",
    );
    let message = r#"{"body": "W1tdLCB7fSwge31d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "tasks.embed", "id": "x"}, "properties": {"delivery_tag": "t"}}"#;
    let mut len = 0u64;
    for _ in 0..100 {
        len = fill.key("big_queue").arg(message).invoke_async(&mut conn).await.unwrap();
    }
    assert_eq!(len, 1_000_000);
    // Garbage: not JSON, binary, JSON without headers, a body that is not base64.
    let _: () = conn.rpush("bad_queue", "not json at all").await.unwrap();
    let _: () = conn.rpush("bad_queue", vec![0xffu8, 0xfe, 0x00, 0x80]).await.unwrap();
    let _: () = conn.rpush("bad_queue", r#"{"body": 1}"#).await.unwrap();
    let _: () = conn.rpush("bad_queue", message).await.unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.unwrap();

    let cli = Cli::new();
    let started = Instant::now();
    let r = cli.json(&["queues", "--broker", &broker, "--json", "--listen", "0.2"]);
    let took = started.elapsed();
    let queue = |name: &str| {
        r["queues"].as_array().unwrap().iter().find(|q| q["name"] == name).unwrap_or_else(|| panic!("no {name}: {r}"))
    };
    let big = queue("big_queue");
    assert_eq!(big["depth"], 1_000_000);
    // Task names from a bounded sample only.
    let sampled = big["sampled"].as_u64().unwrap();
    assert!((1..=200).contains(&sampled), "{big}");
    assert_eq!(big["task_names"][0]["task"], "tasks.embed", "{big}");
    let bad = queue("bad_queue");
    assert_eq!(bad["depth"], 4);
    assert_eq!(bad["undecodable"], 3, "{bad}");
    assert_eq!(bad["task_names"][0]["task"], "tasks.embed", "{bad}");
    // What the broker was asked: LLENs, and the sample's LRANGEs (at most one per priority bucket
    // of each queue), never the million messages.
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.unwrap();
    let buckets = 4 * r["queues"].as_array().unwrap().len() as u64;
    assert!(commandstat(&stats, "lrange") <= buckets, "{stats}");
    let info: String = redis::cmd("INFO").arg("stats").query_async(&mut conn).await.unwrap();
    let sent_bytes: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("total_net_output_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    // The million messages are about 230 MB; the report read well under 1 MB of them.
    assert!(sent_bytes < 1_000_000, "{sent_bytes} bytes sent by the broker");
    eprintln!("report on a 1,000,000-message queue in {took:?}, {sent_bytes} bytes read");

    // The sampler on the same broker: the depth, from LLEN.
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    save(&service, "big", &broker);
    let sampled = service.sample_round(Some(&["big".to_string()])).await.unwrap();
    assert_eq!(sampled[0].last_error, None);
    let report = broker_history(&service, "big", &["queued", "largest_queue"]).await;
    let last = |m: &str| report.series.iter().find(|s| s.metric == m).unwrap().points.last().unwrap().value;
    assert_eq!(last("largest_queue"), Some(1_000_000.0));
    assert_eq!(last("queued"), Some(1_000_004.0));
}

async fn broker_history(service: &Service, profile: &str, metrics: &[&str]) -> simba_core::history::HistoryReport {
    service
        .history_series(simba_core::history::HistoryRequest {
            profile: Some(profile.into()),
            source: "celery".into(),
            range_seconds: None,
            metrics: Some(metrics.iter().map(|m| m.to_string()).collect()),
        })
        .await
        .unwrap()
}

fn service(dir: &std::path::Path) -> Service {
    let engine = simba_core::engine::Engine::new(
        dir.join("no-model"),
        simba_core::engine::Backend::Embedded { path: dir.join("data").join("cache.db") },
    );
    Service::open_with_history(ProfileStore::new(dir.join("cfg")), engine, dir.join("data").join("history.db")).unwrap()
}

fn save(service: &Service, name: &str, broker: &str) {
    service
        .save_profile(ProfileInput { name: name.into(), celery_broker_url: Some(broker.into()), ..Default::default() })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restarted_under_the_sampler_leaves_a_gap_and_comes_back() {
    let venv = simba_testkit::celery_venv().expect("celery venv");
    let mut server = RedisServer::start().unwrap();
    let broker = server.url_db(0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.py"), TASKS).unwrap();
    let service = service(dir.path());
    save(&service, "b", &broker);
    let names = vec!["b".to_string()];
    let args = ["-A", "tasks", "worker", "-Q", "llm_queue", "-c", "1", "-E", "-n", "w@restart", "--loglevel", "INFO"];
    let _worker = Worker::start(&venv, dir.path(), &broker, &args);
    let log = || std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default();
    let alive_now = |service: &Service| {
        let service = service.clone();
        async move {
            let r = broker_history(&service, "b", &["workers_alive"]).await;
            r.series[0].points.last().and_then(|p| p.value)
        }
    };
    let until_alive = |what: &'static str| {
        let service = service.clone();
        let names = names.clone();
        async move {
            let started = Instant::now();
            loop {
                service.sample_round(Some(&names)).await.unwrap();
                if alive_now(&service).await == Some(1.0) {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "{what}: the worker never counted alive:\n{}",
                    log()
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    until_alive("at first").await;

    // The broker goes: the round records a gap with a reason, and nothing panics.
    server.kill();
    let down = service.sample_round(Some(&names)).await.unwrap();
    let reason = down[0].last_error.clone().expect("a gap");
    assert!(reason.contains("celery") && reason.contains("127.0.0.1"), "{reason}");
    // Back (empty, as after a crash): samples resume, the watch subscribes again and the worker,
    // reconnecting by itself, is counted alive again.
    server.restart().unwrap();
    until_alive("after the restart").await;
    let status = service.sample_round(Some(&names)).await.unwrap();
    assert_eq!(status[0].last_error, None);
    let report = broker_history(&service, "b", &["queued"]).await;
    assert!(!report.gaps.is_empty(), "the outage is a gap: {report:?}");
}
