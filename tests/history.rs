//! History against real servers: the sampler's figures match what Redis and PostgreSQL report,
//! a killed server leaves a gap and sampling resumes by itself, no secret reaches the history
//! file, and the commands refuse bad input clearly.

mod common;

use redis::AsyncCommands;
use simba_core::history::{HistoryReport, HistoryRequest};
use simba_core::profiles::{ProfileInput, ProfileStore};
use simba_core::{ErrorCode, Service};
use simba_testkit::{PostgresServer, RedisServer};
use std::path::Path;
use std::time::Duration;

fn service(dir: &Path) -> Service {
    let engine = simba_core::engine::Engine::new(
        dir.join("no-model"),
        simba_core::engine::Backend::Embedded { path: dir.join("data").join("cache.db") },
    );
    Service::open_with_history(ProfileStore::new(dir.join("cfg")), engine, dir.join("data").join("history.db")).unwrap()
}

fn save(service: &Service, name: &str, redis: Option<String>, postgres: Option<String>) {
    service
        .save_profile(ProfileInput {
            name: name.into(),
            redis_url: redis,
            postgres_url: postgres,
            ..Default::default()
        })
        .unwrap();
}

async fn history(service: &Service, profile: &str, source: &str, metrics: &[&str]) -> HistoryReport {
    service
        .history_series(HistoryRequest {
            profile: Some(profile.into()),
            source: source.into(),
            range_seconds: None,
            metrics: Some(metrics.iter().map(|m| m.to_string()).collect()),
        })
        .await
        .unwrap()
}

fn values(report: &HistoryReport, metric: &str) -> Vec<f64> {
    let s = report.series.iter().find(|s| s.metric == metric).unwrap_or_else(|| panic!("no {metric}"));
    s.points.iter().filter_map(|p| p.value).collect()
}

fn info_field(info: &str, name: &str) -> f64 {
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn redis_hit_rate_over_the_interval_is_what_info_says() {
    let server = RedisServer::start_with(&["--maxmemory", "64mb"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    save(&service, "cache", Some(server.url()), None);
    let mut conn = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for i in 0..10 {
        let _: () = conn.set(format!("k:{i}"), "v").await.unwrap();
    }
    let names = vec!["cache".to_string()];
    let first = service.sample_round(Some(&names)).await.unwrap();
    assert_eq!(first[0].last_error, None);
    let before: String = redis::cmd("INFO").arg("stats").query_async(&mut conn).await.unwrap();
    // 30 GETs that hit, 10 that miss.
    for i in 0..30 {
        let _: Option<String> = conn.get(format!("k:{}", i % 10)).await.unwrap();
    }
    for i in 0..10 {
        let _: Option<String> = conn.get(format!("missing:{i}")).await.unwrap();
    }
    let after: String = redis::cmd("INFO").arg("stats").query_async(&mut conn).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = service.sample_round(Some(&names)).await.unwrap();
    assert_eq!(second[0].samples, 2);

    let hits = info_field(&after, "keyspace_hits") - info_field(&before, "keyspace_hits");
    let misses = info_field(&after, "keyspace_misses") - info_field(&before, "keyspace_misses");
    assert_eq!((hits, misses), (30.0, 10.0));
    let report = history(&service, "cache", "redis", &["hit_rate", "memory_used", "maxmemory", "ops_per_s"]).await;
    assert_eq!(values(&report, "hit_rate"), vec![100.0 * hits / (hits + misses)]);
    assert_eq!(values(&report, "maxmemory"), vec![64.0 * 1024.0 * 1024.0]);
    let used = values(&report, "memory_used");
    assert!(used[0] > 100_000.0 && used[0] < 64.0 * 1024.0 * 1024.0, "{used:?}");
    // At least the 40 GETs and two INFOs between the samples.
    assert!(values(&report, "ops_per_s")[0] > 0.0);
    assert!(report.gaps.is_empty());
    assert_eq!(report.interval_seconds, 10);

    // The store survives a new service over the same file.
    drop(service);
    let again = self::service(dir.path());
    let report = history(&again, "cache", "redis", &["hit_rate"]).await;
    assert_eq!(values(&report, "hit_rate"), vec![75.0]);
}

#[tokio::test]
async fn postgres_connections_are_what_pg_stat_activity_counts() {
    let server = PostgresServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    save(&service, "db", None, Some(server.url()));
    use sqlx::Connection;
    let mut held = vec![];
    for _ in 0..3 {
        held.push(sqlx::PgConnection::connect(&server.url()).await.unwrap());
    }
    let names = vec!["db".to_string()];
    service.sample_round(Some(&names)).await.unwrap();
    for _ in 0..20 {
        sqlx::query("SELECT 1").execute(&mut held[0]).await.unwrap();
    }
    // The first round's connection is closed, but its backend may take a moment to go (on a busy
    // machine it was still listed): wait for it rather than count it.
    let started = std::time::Instant::now();
    let truth = loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
            .fetch_one(&mut held[0])
            .await
            .unwrap();
        if n == 3 || started.elapsed() > Duration::from_secs(10) {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(truth, 3);
    let done = service.sample_round(Some(&names)).await.unwrap();
    assert_eq!(done[0].last_error, None, "{:?}", done[0]);
    let report = history(
        &service,
        "db",
        "postgres",
        &["connections", "max_connections", "transactions_per_s", "idle_in_transaction"],
    )
    .await;
    // The sampler's own connection is one more.
    assert_eq!(values(&report, "connections"), vec![(truth + 1) as f64]);
    assert_eq!(values(&report, "max_connections"), vec![50.0]);
    assert_eq!(values(&report, "idle_in_transaction"), vec![0.0]);
    assert!(values(&report, "transactions_per_s")[0] > 0.0);
}

#[tokio::test]
async fn a_killed_server_leaves_a_gap_and_sampling_resumes_by_itself() {
    let mut server = RedisServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    save(&service, "flaky", Some(server.url()), None);
    let url = server.url();
    let workload = |n: usize| {
        let url = url.clone();
        async move {
            let mut c = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
            let _: () = c.set("k", "v").await.unwrap();
            for _ in 0..n {
                let _: Option<String> = c.get("k").await.unwrap();
            }
        }
    };
    workload(500).await;
    let sampler = service.start_sampler(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    workload(500).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.restart().unwrap();
    workload(20).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    sampler.abort();

    let report = history(&service, "flaky", "redis", &["hit_rate", "ops_per_s", "evictions_per_s"]).await;
    assert!(!report.gaps.is_empty(), "no gap recorded");
    let gap = &report.gaps[0];
    assert!(gap.reason.contains("Redis at redis://127.0.0.1:"), "{}", gap.reason);
    assert!(gap.to_ms > gap.from_ms, "the gap should end at the first sample after the restart");
    let ops = &report.series.iter().find(|s| s.metric == "ops_per_s").unwrap().points;
    let after_restart: Vec<f64> = ops.iter().filter(|p| p.t_ms > gap.to_ms).filter_map(|p| p.value).collect();
    assert!(!after_restart.is_empty(), "sampling did not resume: {ops:?}");
    for s in &report.series {
        assert!(s.points.iter().filter_map(|p| p.value).all(|v| v >= 0.0), "a negative {}: {:?}", s.metric, s.points);
    }
    let status = service.sampler_status().await.unwrap();
    assert_eq!(status.interval_seconds, 1);
    assert_eq!(status.retention_days, 7);
    let flaky = status.profiles.iter().find(|p| p.profile == "flaky").unwrap();
    assert!(flaky.samples >= 6, "{flaky:?}");
    assert_eq!(flaky.last_error, None);
}

#[tokio::test]
async fn a_wrong_password_is_a_gap_whose_reason_holds_no_secret() {
    let password = common::test_secret("history-redis");
    let server = RedisServer::start_with(&["--requirepass", &password]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    let wrong = common::test_secret("history-wrong");
    save(&service, "locked", Some(format!("redis://:{wrong}@127.0.0.1:{}/0", server.port())), None);
    let pg = PostgresServer::start().unwrap();
    let pg_wrong = format!("postgres://nobody:{wrong}@127.0.0.1:{}/postgres", pg.port());
    save(&service, "pglocked", None, Some(pg_wrong));
    let done = service.sample_round(None).await.unwrap();
    assert_eq!(done.len(), 2);
    for p in &done {
        let reason = p.last_error.as_deref().unwrap_or_else(|| panic!("{} sampled with a wrong password", p.profile));
        assert!(!reason.contains(common::CANARY), "{reason}");
    }
    let report = history(&service, "locked", "redis", &["hit_rate"]).await;
    assert!(report.gaps[0].reason.contains("refused the credentials"), "{}", report.gaps[0].reason);
    let report = history(&service, "pglocked", "postgres", &["connections"]).await;
    assert!(report.gaps[0].reason.contains("PostgreSQL at"), "{}", report.gaps[0].reason);
    // Nothing in the history file (or its WAL) holds either password.
    for name in ["history.db", "history.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join("data").join(name)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(common::CANARY), "{name} holds a secret");
        }
    }
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    save(&service, "only-redis", Some("redis://127.0.0.1:9/0".into()), None);
    let ask = |profile: &str, source: &str, metric: &str| HistoryRequest {
        profile: Some(profile.into()),
        source: source.into(),
        range_seconds: Some(3600),
        metrics: Some(vec![metric.into()]),
    };
    let e = service.history_series(ask("only-redis", "redis", "connections")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(
        e.message.contains("unknown redis metric 'connections'") && e.message.contains("hit_rate"),
        "{}",
        e.message
    );
    let e = service.history_series(ask("only-redis", "mongo", "x")).await.unwrap_err();
    assert!(e.message.contains("unknown source 'mongo'"), "{}", e.message);
    let e = service.history_series(ask("nobody", "redis", "hit_rate")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("no profile named 'nobody'"), "{}", e.message);
    let e = service.history_series(ask("only-redis", "postgres", "connections")).await.unwrap_err();
    assert!(e.message.contains("has no PostgreSQL URL"), "{}", e.message);
    // Through dispatch: a missing field is named.
    let e = simba_core::api::dispatch(&service, "history_series", serde_json::json!({"profile": "only-redis"}))
        .await
        .unwrap_err();
    assert!(e.message.contains("source"), "{}", e.message);
}

/// The Celery broker as a third source: queue depths (priority buckets included) and the messages
/// in flight are what the broker's own keys hold, and its alerts fire on them.
#[tokio::test]
async fn the_broker_history_is_what_its_queues_hold_and_its_alerts_fire() {
    let server = RedisServer::start().unwrap();
    let broker = server.url_db(1);
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    service
        .save_profile(ProfileInput {
            name: "workers".into(),
            celery_broker_url: Some(broker.clone()),
            ..Default::default()
        })
        .unwrap();
    let mut conn = redis::Client::open(broker).unwrap().get_multiplexed_async_connection().await.unwrap();
    for i in 0..1200 {
        let _: () = conn.lpush("llm_queue", format!("msg-{i}")).await.unwrap();
    }
    // kombu's priority bucket 3 of data_queue.
    for i in 0..50 {
        let _: () = conn.lpush("data_queue\x06\x163", format!("msg-{i}")).await.unwrap();
    }
    // One message delivered 4000 s ago and never acknowledged (acks_late).
    let delivered = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64() - 4000.0;
    let _: () = conn.hset("unacked", "tag-1", "[\"{}\", \"\", \"llm_queue\"]").await.unwrap();
    let _: () = conn.zadd("unacked_index", "tag-1", delivered).await.unwrap();

    let names = vec!["workers".to_string()];
    let sampled = service.sample_round(Some(&names)).await.unwrap();
    assert_eq!(sampled[0].last_error, None);
    assert_eq!(sampled[0].sources, ["celery"]);
    let report =
        history(&service, "workers", "celery", &["queued", "largest_queue", "in_flight", "oldest_in_flight_s"]).await;
    assert_eq!(values(&report, "queued"), vec![1250.0]);
    assert_eq!(values(&report, "largest_queue"), vec![1200.0]);
    let per_queue = history(&service, "workers", "celery", &["llm_queue", "data_queue", "vector_queue"]).await;
    assert_eq!(
        ["llm_queue", "data_queue", "vector_queue"].map(|q| values(&per_queue, q)),
        [vec![1200.0], vec![50.0], vec![0.0]]
    );
    assert_eq!(values(&report, "in_flight"), vec![1.0]);
    let oldest = values(&report, "oldest_in_flight_s")[0];
    assert!((4000.0..4100.0).contains(&oldest), "{oldest}");

    // The backlog rule waits 5 minutes by default; at 0 it fires now, as the old message does.
    let alerts = service.alerts_of(&service.resolve_profile("workers").unwrap()).await.unwrap();
    let state = |id: &str| alerts.alerts.iter().find(|a| a.rule == id).unwrap().clone();
    assert_eq!(state("celery_backlog_high").state, "ok", "{:?}", state("celery_backlog_high"));
    assert!(state("celery_backlog_high").detail.contains("fires after 5 min"));
    assert_eq!(state("celery_in_flight_old").state, "firing", "{:?}", state("celery_in_flight_old"));
    // What the desktop app notifies: an alert once, when it starts firing.
    let news = service.newly_firing(&names).await;
    assert_eq!(
        news.iter().map(|(p, a)| (p.as_str(), a.rule.as_str())).collect::<Vec<_>>(),
        [("workers", "celery_in_flight_old")]
    );
    assert!(service.newly_firing(&names).await.is_empty());
    let mut rules = service.alert_rules(Some("workers")).unwrap();
    rules.rules.iter_mut().find(|r| r.id == "celery_backlog_high").unwrap().for_minutes = 0;
    service.alert_rules_set(rules).unwrap();
    let alerts = service.alerts_of(&service.resolve_profile("workers").unwrap()).await.unwrap();
    let backlog = alerts.alerts.iter().find(|a| a.rule == "celery_backlog_high").unwrap();
    assert_eq!(backlog.state, "firing", "{backlog:?}");
    assert_eq!(backlog.value, Some(1250.0));
    // Only the broker's rules: this profile has no Redis or PostgreSQL of its own.
    assert!(alerts.alerts.iter().all(|a| a.source == "celery"), "{:?}", alerts.alerts);
    let news = service.newly_firing(&names).await;
    assert_eq!(news.iter().map(|(_, a)| a.rule.as_str()).collect::<Vec<_>>(), ["celery_backlog_high"]);

    // Acknowledged, the old message goes: the alert stops; delivered again long ago, it is new again.
    let _: () = conn.zrem("unacked_index", "tag-1").await.unwrap();
    let _: () = conn.hdel("unacked", "tag-1").await.unwrap();
    service.sample_round(Some(&names)).await.unwrap();
    assert!(service.newly_firing(&names).await.is_empty());
    let _: () = conn.hset("unacked", "tag-2", "[\"{}\", \"\", \"llm_queue\"]").await.unwrap();
    let _: () = conn.zadd("unacked_index", "tag-2", delivered).await.unwrap();
    service.sample_round(Some(&names)).await.unwrap();
    let news = service.newly_firing(&names).await;
    assert_eq!(news.iter().map(|(_, a)| a.rule.as_str()).collect::<Vec<_>>(), ["celery_in_flight_old"]);
}

/// Workers over time from the sampler's heartbeat watch: a real Celery worker is counted alive,
/// and after a SIGKILL (no worker-offline event) lost, named in its alert; a queue nobody consumes
/// and a queue that grows fire their alerts, a consumed queue does not.
#[tokio::test(flavor = "multi_thread")]
async fn workers_lost_and_queues_not_consumed_from_a_real_worker() {
    use simba_testkit::celery::{python, Worker, TASKS};
    let venv = simba_testkit::celery_venv().expect("celery venv");
    let server = RedisServer::start().unwrap();
    let broker = server.url_db(2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.py"), TASKS).unwrap();
    let service = service(dir.path());
    service
        .save_profile(ProfileInput { name: "w".into(), celery_broker_url: Some(broker.clone()), ..Default::default() })
        .unwrap();
    let names = vec!["w".to_string()];
    let host = "w1@history-test";
    let args = ["-A", "tasks", "worker", "-Q", "llm_queue", "-c", "1", "-E", "-n", host, "--loglevel", "INFO"];
    let mut worker = Worker::start(&venv, dir.path(), &broker, &args);
    let log = || std::fs::read_to_string(dir.path().join("worker.log")).unwrap_or_default();

    // Rounds every 500 ms until the watch counts the worker alive.
    let latest = |service: &Service, metric: &'static str| {
        let service = service.clone();
        async move { values(&history(&service, "w", "celery", &[metric]).await, metric).last().copied() }
    };
    let started = std::time::Instant::now();
    loop {
        service.sample_round(Some(&names)).await.unwrap();
        if latest(&service, "workers_alive").await == Some(1.0) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "worker never counted alive:\n{}", log());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(latest(&service, "workers_lost").await, Some(0.0));

    // Messages for a queue no worker reads, and for the worker's own queue: the first stays.
    let mut conn = redis::Client::open(broker.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    for i in 0..150 {
        let _: () = conn.lpush("orphan_queue", format!("not a celery message {i}")).await.unwrap();
    }
    python(&venv, dir.path(), &broker, "import tasks\nfor i in range(20): tasks.llm.delay(i)", &[]);
    service.sample_round(Some(&names)).await.unwrap();
    // The worker drains llm_queue.
    let started = std::time::Instant::now();
    while redis::cmd("LLEN").arg("llm_queue").query_async::<u64>(&mut conn).await.unwrap() > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "llm_queue never drained:\n{}", log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _: () = conn.lpush("orphan_queue", "one more").await.unwrap();
    service.sample_round(Some(&names)).await.unwrap();
    let mut rules = service.alert_rules(Some("w")).unwrap();
    for r in rules.rules.iter_mut().filter(|r| r.id == "celery_queue_growing" || r.id == "celery_queue_not_consumed") {
        r.for_minutes = 0;
    }
    service.alert_rules_set(rules).unwrap();
    let alerts = service.alerts_of(&service.resolve_profile("w").unwrap()).await.unwrap();
    let state = |alerts: &simba_core::history::alerts::AlertsReport, id: &str| {
        alerts.alerts.iter().find(|a| a.rule == id).unwrap_or_else(|| panic!("no {id}: {:?}", alerts.alerts)).clone()
    };
    let idle = state(&alerts, "celery_queue_not_consumed");
    assert_eq!(idle.state, "firing", "{idle:?}");
    assert!(idle.detail.contains("orphan_queue (150 → 151)"), "{}", idle.detail);
    assert!(!idle.detail.contains("llm_queue"), "{}", idle.detail);
    assert_eq!(state(&alerts, "celery_queue_growing").state, "ok", "one message more is no growth");
    assert_eq!(state(&alerts, "celery_worker_lost").state, "ok");

    // SIGKILL: the worker stops beating without a goodbye.
    worker.kill();
    let killed = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        service.sample_round(Some(&names)).await.unwrap();
        if latest(&service, "workers_lost").await == Some(1.0) {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "the killed worker was never counted lost");
    }
    // Two heartbeat intervals (2 s each) at least, as the queue report says too.
    assert!(killed.elapsed() >= Duration::from_secs(3), "{:?}", killed.elapsed());
    assert_eq!(latest(&service, "workers_alive").await, Some(0.0));
    for i in 0..200 {
        let _: () = conn.lpush("orphan_queue", format!("burst {i}")).await.unwrap();
    }
    service.sample_round(Some(&names)).await.unwrap();
    let alerts = service.alerts_of(&service.resolve_profile("w").unwrap()).await.unwrap();
    let lost = state(&alerts, "celery_worker_lost");
    assert_eq!(lost.state, "firing", "{lost:?}");
    assert!(lost.detail.ends_with(&format!(": {host}")), "{}", lost.detail);
    let growing = state(&alerts, "celery_queue_growing");
    assert_eq!(growing.state, "firing", "{growing:?}");
    assert!(growing.detail.contains("orphan_queue (151 → 351)"), "{}", growing.detail);
}

/// The Kubernetes API as a fourth source, from a local server with the official shapes
/// (simba_testkit::kube): the pods of Deployments against their requests and limits, the HPAs'
/// replicas, and an HPA pinned at max named in its alert until the controller scales it back.
#[tokio::test(flavor = "multi_thread")]
async fn the_cluster_history_is_what_the_api_serves_and_a_pinned_hpa_fires() {
    use simba_testkit::kube::Fake;
    let (admin, viewer) = (common::test_secret("k8s-admin"), common::test_secret("k8s-viewer"));
    let fake = std::sync::Arc::new(Fake::new(admin.clone(), viewer.clone()));
    let url = fake.serve();
    let dir = tempfile::tempdir().unwrap();
    let service = service(dir.path());
    for (name, token) in [("k8s", &admin), ("viewer", &viewer)] {
        service
            .save_profile(ProfileInput {
                name: name.into(),
                kubernetes_url: Some(url.clone()),
                kubernetes_token: Some(token.clone()),
                ..Default::default()
            })
            .unwrap();
    }
    let names = vec!["k8s".to_string(), "viewer".to_string()];
    let sampled = service.sample_round(Some(&names)).await.unwrap();
    assert_eq!(sampled[0].last_error, None, "{sampled:?}");
    assert_eq!(sampled[0].sources, ["kubernetes"]);
    let all = [
        "cpu_used_cores",
        "cpu_requests_cores",
        "cpu_limits_cores",
        "memory_used",
        "memory_requests",
        "memory_limits",
        "memory_of_limit_max",
        "pods_ready",
        "hpa_replicas",
        "hpa_desired_replicas",
        "hpa_max_replicas",
        "hpas_pinned",
    ];
    let report = history(&service, "k8s", "kubernetes", &all).await;
    let last = |m: &str| values(&report, m).last().copied().unwrap_or_else(|| panic!("no {m}"));
    const MI: f64 = 1024.0 * 1024.0;
    // web: 2 pods requesting 100m / 256Mi, limited to 500m / 1Gi, using 250m + 150m and 512Mi +
    // 972Mi; worker: 1 pod requesting 1Gi (no CPU request, no limits), using 1 core and 1.5Gi.
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1.0);
    assert!(close(last("cpu_requests_cores"), 0.2), "{}", last("cpu_requests_cores"));
    assert!(close(last("cpu_limits_cores"), 1.0));
    assert!(close(last("cpu_used_cores"), 1.4), "{}", last("cpu_used_cores"));
    assert!(close(last("memory_requests"), 1536.0 * MI));
    assert!(close(last("memory_limits"), 2048.0 * MI));
    assert!(close(last("memory_used"), (512.0 + 972.0 + 1536.0) * MI), "{}", last("memory_used"));
    assert!(close(last("memory_of_limit_max"), 100.0 * 972.0 / 1024.0), "{}", last("memory_of_limit_max"));
    assert_eq!(last("pods_ready"), 3.0);
    assert_eq!([last("hpa_replicas"), last("hpa_desired_replicas"), last("hpa_max_replicas")], [12.0, 12.0, 16.0]);
    assert_eq!(last("hpas_pinned"), 1.0);
    // A token that may not read metrics.k8s.io: requests and limits still, no usage.
    let viewer_report = history(&service, "viewer", "kubernetes", &["cpu_requests_cores", "cpu_used_cores"]).await;
    assert_eq!(values(&viewer_report, "cpu_requests_cores").len(), 1);
    assert!(values(&viewer_report, "cpu_used_cores").is_empty());

    let mut rules = service.alert_rules(Some("k8s")).unwrap();
    rules.rules.iter_mut().find(|r| r.id == "k8s_hpa_pinned_at_max").unwrap().for_minutes = 0;
    service.alert_rules_set(rules).unwrap();
    let alert = |report: simba_core::history::alerts::AlertsReport| {
        report.alerts.into_iter().find(|a| a.rule == "k8s_hpa_pinned_at_max").unwrap()
    };
    let pinned = alert(service.alerts_of(&service.resolve_profile("k8s").unwrap()).await.unwrap());
    assert_eq!(pinned.state, "firing", "{pinned:?}");
    assert!(pinned.detail.ends_with(": simba/simba-intelligence-hpa"), "{}", pinned.detail);
    // The controller scales back under its maximum: the alert clears.
    fake.set_hpa("simba", "simba-intelligence-hpa", 6, 6, 60);
    // Samples within one chart bucket (5 s over an hour) are averaged: sample until the newest
    // bucket holds only the new figures.
    let started = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        service.sample_round(Some(&names)).await.unwrap();
        let report = history(&service, "k8s", "kubernetes", &["hpa_replicas", "hpas_pinned"]).await;
        let (replicas, pinned) = (values(&report, "hpa_replicas"), values(&report, "hpas_pinned"));
        if replicas.last() == Some(&8.0) && pinned.last() == Some(&0.0) {
            // The first bucket holds the first sample (12 replicas, pinned), perhaps with later ones.
            assert!(replicas[0] > 8.0 && pinned[0] > 0.0, "{replicas:?} {pinned:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{replicas:?} {pinned:?}");
    }
    let cleared = alert(service.alerts_of(&service.resolve_profile("k8s").unwrap()).await.unwrap());
    assert_eq!(cleared.state, "ok", "{cleared:?}");
}
