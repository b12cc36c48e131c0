//! `simba-tuner bench monitor`, the short version CI runs (the figures in docs/BENCHMARKS.md come
//! from longer runs): one refresh of the Redis and Database pages against harness servers with the
//! commands it sends counted by the servers themselves, and a memory-by-prefix sample held to its
//! budget on a keyspace larger than the budget.

mod common;

use common::Cli;
use simba_testkit::{PostgresServer, RedisServer};

#[test]
fn a_refresh_is_measured_and_its_commands_are_bounded_by_the_sample_budget() {
    let small = RedisServer::start().unwrap();
    let big = RedisServer::start_with(&["--enable-debug-command", "local"]).unwrap();
    let pg = PostgresServer::start().unwrap();
    let mut conn = redis::Client::open(big.url()).unwrap().get_connection().unwrap();
    // 30,000 keys under three prefixes: more than the sample's 20,000-key budget.
    let _: () = redis::cmd("DEBUG").arg("POPULATE").arg(10_000).arg("user").query(&mut conn).unwrap();
    let _: () = redis::cmd("DEBUG").arg("POPULATE").arg(10_000).arg("session").query(&mut conn).unwrap();
    let _: () = redis::cmd("DEBUG").arg("POPULATE").arg(10_000).arg("cache").query(&mut conn).unwrap();
    let mut conn = redis::Client::open(small.url()).unwrap().get_connection().unwrap();
    for i in 0..100 {
        let _: () = redis::cmd("SET").arg(format!("app:{i}")).arg("v").query(&mut conn).unwrap();
    }

    let cli = Cli::new();
    let (r, p, b) = (small.url(), pg.url(), big.url());
    let args =
        ["bench", "monitor", "--redis", &r, "--postgres", &p, "--sample-redis", &b, "--refreshes", "3", "--json"];
    let out = cli.json(&args);

    let redis = &out["redis_refresh"];
    assert_eq!(redis["refreshes"], 3, "{out:#}");
    assert!(redis["p50_ms"].as_f64().unwrap() > 0.0);
    // The page's refresh reads each of the 100 keys (MEMORY USAGE, PTTL) plus a fixed set of
    // commands (INFO, CONFIG GET, SLOWLOG, LATENCY, CLIENT LIST, SCAN, …): bounded by the keys.
    let commands = redis["commands"]["max"].as_f64().unwrap();
    assert!((200.0..=260.0).contains(&commands), "{commands} commands for 100 keys: {out:#}");
    let db = &out["postgres_refresh"];
    assert_eq!(db["refreshes"], 3);
    assert!(db["transactions"]["max"].as_f64().unwrap() >= 1.0, "{out:#}");

    let sample = &out["prefix_sample"];
    assert_eq!(sample["keys_in_db"], 30_000, "{out:#}");
    assert_eq!(sample["keys_sampled"], 20_000, "{out:#}");
    assert_eq!(sample["stopped_by"], "key budget");
    let prefixes: Vec<&str> =
        sample["prefixes"].as_array().unwrap().iter().map(|p| p["prefix"].as_str().unwrap()).collect();
    for want in ["user:", "session:", "cache:"] {
        assert!(prefixes.contains(&want), "{prefixes:?}");
    }
    for p in sample["prefixes"].as_array().unwrap() {
        let keys = p["estimated_keys"].as_f64().unwrap();
        assert!((9_000.0..=11_000.0).contains(&keys), "{p}");
    }
}

/// The cluster's refresh: a Celery broker (a real Redis holding a queue), a real Prometheus and
/// the Kubernetes API (the local server with the official shapes), timed together and per part.
#[test]
fn a_cluster_refresh_is_measured_per_part_and_whole() {
    let broker = RedisServer::start().unwrap();
    let mut conn = redis::Client::open(broker.url_db(1)).unwrap().get_connection().unwrap();
    for i in 0..100 {
        let _: () = redis::cmd("LPUSH").arg("llm_queue").arg(format!("m{i}")).query(&mut conn).unwrap();
    }
    let prometheus = simba_testkit::prometheus(&[], 1).expect("Prometheus (bash .ci/setup test)");
    let token = common::test_secret("bench-k8s");
    let kube = std::sync::Arc::new(simba_testkit::kube::Fake::new(token.clone(), common::test_secret("viewer")));
    let kube_url = kube.serve();
    let cli = Cli::new();
    let b = broker.url_db(1);
    let p = prometheus.url();
    let add = ["profile", "add", "cluster", "--celery-broker", &b, "--prometheus", &p, "--kubernetes", &kube_url];
    let out = cli.run_env(&add, &[("SIMBA_KUBERNETES_TOKEN", &token)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 3 in CI; the figures in docs/BENCHMARKS.md come from SIMBA_BENCH_REFRESHES=30 (printed).
    let n = std::env::var("SIMBA_BENCH_REFRESHES").unwrap_or_else(|_| "3".into());
    let out = cli.json(&["bench", "monitor", "--cluster-profile", "cluster", "--refreshes", &n, "--json"]);
    eprintln!("{out:#}");
    let r = &out["cluster_refresh"];
    assert_eq!(r["refreshes"].to_string(), n, "{out:#}");
    for part in ["whole", "broker", "kubernetes", "prometheus_panels"] {
        let p50 = r[part]["p50_ms"].as_f64().unwrap_or_else(|| panic!("no {part}: {out:#}"));
        assert!(p50 > 0.0, "{part}: {out:#}");
    }
}
