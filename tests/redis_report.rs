//! `simba-tuner redis` against real Redis servers after a known workload: the figures must be the
//! server's own (INFO, CONFIG GET, SLOWLOG, CLIENT LIST, MEMORY USAGE).

mod common;

use common::Cli;
use redis::AsyncCommands;
use serde_json::Value;
use simba_testkit::RedisServer;
use std::collections::HashMap;
use std::time::Duration;

async fn client(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

fn info_field(info: &str, name: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("{name} not in INFO"))
        .trim()
        .parse()
        .unwrap()
}

/// MEMORY USAGE summed per prefix over every key, and the keys without a TTL: the truth.
async fn true_totals(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, (u64, u64, u64)> {
    let mut keys: Vec<Vec<u8>> = vec![];
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(5000).query_async(conn).await.unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let mut out: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for chunk in keys.chunks(10_000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("MEMORY").arg("USAGE").arg(k);
            pipe.cmd("PTTL").arg(k);
        }
        let replies: Vec<i64> = pipe.query_async(conn).await.unwrap();
        for (k, r) in chunk.iter().zip(replies.chunks(2)) {
            let prefix = simba_core::sources::redis_report::prefix_of(k).0;
            let e = out.entry(prefix).or_default();
            e.0 += r[0] as u64;
            e.1 += 1;
            e.2 += (r[1] == -1) as u64;
        }
    }
    out
}

fn prefix<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["memory_by_prefix"]["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["prefix"] == name)
        .unwrap_or_else(|| panic!("no prefix {name}: {}", report["memory_by_prefix"]))
}

#[tokio::test]
async fn report_matches_what_the_server_reports() {
    let server = RedisServer::start_with(&[
        "--maxmemory",
        "256mb",
        "--maxmemory-policy",
        "allkeys-lru",
        "--slowlog-log-slower-than",
        "20000",
        "--latency-monitor-threshold",
        "20",
        "--enable-debug-command",
        "yes",
    ])
    .unwrap();
    let url = server.url();
    let mut conn = client(&url).await;
    // Three prefixes, with and without TTLs, and one binary key name.
    for i in 0..30 {
        let _: () = conn.set(format!("user:{i}"), "x".repeat(100)).await.unwrap();
    }
    for i in 0..20 {
        let _: () = conn.set_ex(format!("session:{i}"), "y".repeat(300), 3600).await.unwrap();
    }
    for i in 0..10 {
        let key = format!("jobs:queue:{i}");
        let _: () = conn.set(&key, i).await.unwrap();
        if i % 2 == 0 {
            let _: () = conn.expire(&key, 600).await.unwrap();
        }
    }
    let binary_key: &[u8] = b"bin:\xff\x00k";
    let _: () = conn.set(binary_key, "z".repeat(20_000)).await.unwrap();
    for i in 0..60 {
        let _: Option<String> = conn.get(format!("user:{}", i % 30)).await.unwrap();
    }
    for i in 0..40 {
        let _: Option<String> = conn.get(format!("nothing:{i}")).await.unwrap();
    }
    let _: () = redis::cmd("DEBUG").arg("SLEEP").arg("0.05").query_async(&mut conn).await.unwrap();

    // A named client and a blocked one.
    let mut named = client(&url).await;
    let _: () = redis::cmd("CLIENT").arg("SETNAME").arg("tester").query_async(&mut named).await.unwrap();
    let blocker = tokio::spawn({
        let url = url.clone();
        async move {
            let mut c = client(&url).await;
            let _: () = redis::cmd("CLIENT").arg("SETNAME").arg("waiter").query_async(&mut c).await.unwrap();
            let _: Option<(String, String)> = c.blpop("never:filled", 10.0).await.unwrap();
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let info: String = redis::cmd("INFO").query_async(&mut conn).await.unwrap();
    let cli = Cli::new();
    let r = cli.json(&["redis", "--redis", &url, "--json"]);
    let truth = true_totals(&mut conn).await;

    assert!(r["version"].as_str().unwrap().starts_with('7') || r["version"].as_str().unwrap().starts_with('8'));
    assert_eq!(r["local"], true);
    let s = &r["stats"];
    // INFO above was the last command that counts hits or misses before the report's own INFO.
    assert_eq!(s["keyspace_hits"].as_u64().unwrap(), info_field(&info, "keyspace_hits"));
    assert_eq!(s["keyspace_hits"], 60);
    assert_eq!(s["keyspace_misses"], 40);
    assert_eq!(s["hit_rate_lifetime"].as_f64(), Some(0.6));
    assert_eq!(s["evicted_keys"].as_u64().unwrap(), info_field(&info, "evicted_keys"));
    assert_eq!(s["expired_keys"].as_u64().unwrap(), info_field(&info, "expired_keys"));
    assert!(s["interval"].is_null(), "one report has no interval");
    assert_eq!(r["keyspace"][0]["keys"], 61);
    assert_eq!(r["keyspace"][0]["expires"], 25);

    let m = &r["memory"];
    assert_eq!(m["maxmemory_bytes"], 256 * 1024 * 1024);
    assert_eq!(m["maxmemory_policy"], "allkeys-lru");
    let used = m["used_memory_bytes"].as_u64().unwrap() as f64;
    assert!((m["used_of_maxmemory"].as_f64().unwrap() - used / (256.0 * 1024.0 * 1024.0)).abs() < 1e-12);
    let limit = &m["host_limit"];
    assert!(limit["bytes"].as_u64().unwrap() > 0, "{m}");
    assert!(["MemTotal", "cgroup v2 memory.max", "cgroup v1 memory.limit_in_bytes"]
        .contains(&limit["source"].as_str().unwrap()));

    let config: HashMap<String, String> = r["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["value"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(config["maxmemory"], "268435456");
    assert_eq!(config["maxmemory-policy"], "allkeys-lru");
    assert_eq!(config["appendonly"], "no");
    assert_eq!(config["save"], "");
    assert!(config.contains_key("timeout") && config.contains_key("tcp-keepalive"));
    assert!(r["config_problem"].is_null());
    assert_eq!(r["persistence"]["aof_enabled"], false);
    assert_eq!(r["replication"]["role"], "master");

    let slow = r["slowlog"].as_array().unwrap();
    let sleep = slow.iter().find(|e| e["command"] == "DEBUG SLEEP 0.05").unwrap_or_else(|| panic!("{slow:?}"));
    assert!(sleep["duration_us"].as_u64().unwrap() >= 50_000);
    assert!(sleep["client_addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    let latency = r["latency"].as_array().unwrap();
    assert!(latency.iter().any(|e| e["event"] == "command" && e["max_ms"].as_u64().unwrap() >= 50), "{latency:?}");

    let c = &r["clients"];
    assert_eq!(c["blocked_clients"], 1);
    let blocked = c["blocked"].as_array().unwrap();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["name"], "waiter");
    assert_eq!(blocked[0]["cmd"], "blpop");
    let by_name = c["by_name"].as_array().unwrap();
    assert!(by_name.iter().any(|g| g["key"] == "tester" && g["count"] == 1), "{by_name:?}");
    assert!(c["by_addr"][0]["key"] == "127.0.0.1");
    assert!(c["oldest"]["age_seconds"].is_u64() && c["idlest"]["idle_seconds"].is_u64());

    // Every key read: the figures are exact.
    let k = &r["memory_by_prefix"];
    assert_eq!(k["stopped_by"], "complete");
    assert_eq!(k["keys_sampled"], 61);
    assert_eq!(k["sample_fraction"], 1.0);
    for (name, (bytes, keys, no_ttl)) in &truth {
        let p = prefix(&r, name);
        assert_eq!(p["bytes_sampled"].as_u64().unwrap(), *bytes, "{name}");
        assert_eq!(p["estimated_keys"].as_f64().unwrap(), *keys as f64, "{name}");
        assert_eq!(p["keys_without_ttl_sampled"].as_u64().unwrap(), *no_ttl, "{name}");
        assert_eq!(p["standard_error_bytes"].as_f64().unwrap(), 0.0);
    }
    assert_eq!(prefix(&r, "user:")["keys_without_ttl_sampled"], 30);
    assert_eq!(prefix(&r, "session:")["keys_without_ttl_sampled"], 0);
    assert_eq!(prefix(&r, "jobs:queue:")["keys_without_ttl_sampled"], 5);
    assert_eq!(k["biggest_keys"][0]["key"], "bin:\\xff\\x00k");
    assert_eq!(k["biggest_keys"][0]["prefix"], "bin:");
    assert!(k["biggest_keys"][0]["ttl_ms"].is_null());

    // The text form carries the same.
    let out = cli.run(&["redis", "--redis", &url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("DEBUG SLEEP 0.05") && text.contains("user:"), "{text}");
    blocker.abort();
}

/// INFO commandstats' count of INFO calls, less the `own` calls this test made before.
async fn info_calls(conn: &mut redis::aio::MultiplexedConnection, own: &mut u64) -> u64 {
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    let calls = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_info:calls="))
        .and_then(|v| v.split(',').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let theirs = calls - *own;
    *own += 1;
    theirs
}

#[tokio::test]
async fn interval_rates_cover_what_happened_between_two_reports() {
    let server = RedisServer::start_with(&["--maxmemory", "4mb", "--maxmemory-policy", "allkeys-random"]).unwrap();
    let url = server.url();
    let mut conn = client(&url).await;
    for i in 0..10 {
        let _: () = conn.set(format!("hot:{i}"), i).await.unwrap();
    }
    let mut own_info = 0;
    let cli = Cli::new();
    let child = cli
        .command()
        .args(["redis", "--redis", &url, "--interval", "2.5", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first report ends with its second INFO: only then does the interval begin.
    let started = std::time::Instant::now();
    while info_calls(&mut conn, &mut own_info).await < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "the first report never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let began = std::time::Instant::now();
    let info_before: String = redis::cmd("INFO").arg("stats").query_async(&mut conn).await.unwrap();
    for i in 0..5 {
        let _: () =
            redis::cmd("SET").arg(format!("brief:{i}")).arg(1).arg("PX").arg(30).query_async(&mut conn).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    for i in 0..5 {
        let _: Option<i64> = conn.get(format!("brief:{i}")).await.unwrap(); // expired: 5 misses
    }
    for i in 0..10 {
        let _: Option<i64> = conn.get(format!("hot:{i}")).await.unwrap();
    }
    for i in 0..5 {
        let _: Option<i64> = conn.get(format!("absent:{i}")).await.unwrap();
    }
    // Past maxmemory: evictions.
    let mut pipe = redis::pipe();
    for i in 0..6000 {
        pipe.cmd("SET").arg(format!("fill:{i}")).arg("f".repeat(1024)).ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.unwrap();
    let info_after: String = redis::cmd("INFO").arg("stats").query_async(&mut conn).await.unwrap();
    assert!(began.elapsed() < Duration::from_millis(2000), "the workload ran past the interval");

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let i = &r["stats"]["interval"];
    assert_eq!(i["hits"], 10, "{i}");
    assert_eq!(i["misses"], 10, "{i}");
    assert_eq!(i["hit_rate"].as_f64(), Some(0.5));
    // Redis goes on evicting in the background after the writes, up to the second report's INFO.
    let evicted = r["stats"]["evicted_keys"].as_u64().unwrap() - info_field(&info_before, "evicted_keys");
    assert!(evicted >= info_field(&info_after, "evicted_keys") - info_field(&info_before, "evicted_keys"));
    assert!(evicted > 0);
    assert_eq!(i["evicted_keys"].as_u64().unwrap(), evicted);
    assert_eq!(i["expired_keys"].as_u64().unwrap(), 5);
    let secs = i["seconds"].as_f64().unwrap();
    assert!(secs > 2.0 && secs < 10.0, "{secs}");
    assert!((i["evictions_per_sec"].as_f64().unwrap() - evicted as f64 / secs).abs() < 1e-9);
    assert!((i["expirations_per_sec"].as_f64().unwrap() - 5.0 / secs).abs() < 1e-9);
    // 6000 SETs, 20 GETs, 5 SET PX and the few INFO calls, within a handful of the report's own.
    let commands = i["ops_per_sec"].as_f64().unwrap() * secs;
    assert!((6025.0..6060.0).contains(&commands), "{commands}");
    assert!(r["memory"]["used_of_maxmemory"].as_f64().unwrap() > 0.5);
}

#[tokio::test]
async fn sampled_memory_by_prefix_is_within_ten_percent_on_100k_keys() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let mut conn = client(&url).await;
    for chunk in 0..10 {
        let mut pipe = redis::pipe();
        for j in 0..10_000 {
            let i = chunk * 10_000 + j;
            match i % 10 {
                0..=3 => {
                    pipe.cmd("SET").arg(format!("user:{i}")).arg("u".repeat(40)).ignore();
                }
                4..=6 => {
                    pipe.cmd("SET").arg(format!("doc:{i}")).arg("d".repeat(300 + (i % 7) * 50)).ignore();
                    if i % 2 == 0 {
                        pipe.cmd("EXPIRE").arg(format!("doc:{i}")).arg(3600).ignore();
                    }
                }
                _ => {
                    let key = format!("{}e:{i}", simba_core::engine::DEFAULT_REDIS_PREFIX);
                    pipe.cmd("HSET").arg(&key).arg("q").arg("q".repeat(120)).arg("r").arg("r".repeat(200)).ignore();
                }
            }
        }
        let _: () = pipe.query_async(&mut conn).await.unwrap();
    }
    let truth = true_totals(&mut conn).await;
    assert_eq!(truth.values().map(|t| t.1).sum::<u64>(), 100_000);

    let cli = Cli::new();
    let r = cli.json(&["redis", "--redis", &url, "--sample-keys", "20000", "--sample-ms", "20000", "--json"]);
    let k = &r["memory_by_prefix"];
    assert_eq!(k["keys_in_db"], 100_000);
    assert_eq!(k["stopped_by"], "key budget", "{k}");
    assert_eq!(k["keys_sampled"], 20_000);
    assert!((k["sample_fraction"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    for (name, (bytes, keys, no_ttl)) in &truth {
        let p = prefix(&r, name);
        let est = p["estimated_bytes"].as_f64().unwrap();
        let err = (est - *bytes as f64).abs() / *bytes as f64;
        assert!(err < 0.10, "{name}: estimated {est}, true {bytes}");
        let se = p["standard_error_bytes"].as_f64().unwrap();
        assert!(se > 0.0 && se < 0.05 * *bytes as f64, "{name}: standard error {se}");
        let est_keys = p["estimated_keys"].as_f64().unwrap();
        assert!((est_keys - *keys as f64).abs() / (*keys as f64) < 0.10, "{name}: {est_keys} vs {keys}");
        if *no_ttl > 0 {
            let est = p["estimated_keys_without_ttl"].as_f64().unwrap();
            assert!((est - *no_ttl as f64).abs() / (*no_ttl as f64) < 0.10, "{name}: {est} vs {no_ttl}");
        }
    }
    assert_eq!(prefix(&r, "simba:sc:e:")["name"], "semantic cache: entries");
    let biggest = k["biggest_keys"].as_array().unwrap();
    assert_eq!(biggest.len(), 10);
    assert!(biggest[0]["key"].as_str().unwrap().starts_with("doc:"));
}

#[tokio::test]
async fn refused_config_acl_users_replicas_and_wrong_passwords() {
    // CONFIG renamed away, as managed services do: the rest is still there.
    let hardened = RedisServer::start_with(&["--rename-command", "CONFIG", ""]).unwrap();
    let cli = Cli::new();
    let r = cli.json(&["redis", "--redis", &hardened.url(), "--json"]);
    assert!(r["config"].as_array().unwrap().is_empty());
    let problem = r["config_problem"].as_str().unwrap();
    assert!(problem.contains("CONFIG is disabled") && problem.contains("from INFO"), "{problem}");
    assert_eq!(r["memory"]["maxmemory_policy"], "noeviction");
    assert!(r["memory_by_prefix"].is_object() && r["clients"]["list_problem"].is_null());

    // A password, and an ACL user without CONFIG.
    let primary = RedisServer::start_with(&["--requirepass", "primary-pw"]).unwrap();
    let mut admin = client(&primary.url()).await;
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("monitor")
        .arg("on")
        .arg(">monitor-pw")
        .arg("~*")
        .arg("+@all")
        .arg("-config")
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = admin.set("k", 1).await.unwrap();
    let r = cli.json(&["redis", "--redis", &primary.url(), "--json"]);
    assert!(r["config_problem"].is_null());
    let acl_url = format!("redis://monitor:monitor-pw@127.0.0.1:{}/0", primary.port());
    let r = cli.json(&["redis", "--redis", &acl_url, "--json"]);
    assert!(r["config_problem"].as_str().unwrap().contains("ACL"), "{}", r["config_problem"]);
    assert_eq!(r["keyspace"][0]["keys"], 1);
    assert!(!r.to_string().contains("monitor-pw"));

    // A replica of it: role, link and lag on both sides.
    let replica = RedisServer::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &primary.port().to_string(),
        "--masterauth",
        "primary-pw",
    ])
    .unwrap();
    let mut rc = client(&replica.url()).await;
    let started = std::time::Instant::now();
    loop {
        let info: String = redis::cmd("INFO").arg("replication").query_async(&mut rc).await.unwrap();
        let primary_info: String = redis::cmd("INFO").arg("replication").query_async(&mut admin).await.unwrap();
        if info.contains("master_link_status:up") && primary_info.contains("state=online") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = cli.json(&["redis", "--redis", &replica.url(), "--json"]);
    let rep = &r["replication"];
    assert_eq!(rep["role"], "replica", "{rep}");
    assert_eq!(rep["master_port"], primary.port());
    assert_eq!(rep["master_link_status"], "up");
    assert!(rep["lag_bytes"].as_i64().unwrap() >= 0);
    let r = cli.json(&["redis", "--redis", &primary.url(), "--json"]);
    let replicas = r["replication"]["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 1, "{}", r["replication"]);
    assert_eq!(replicas[0]["state"], "online");

    // A wrong password: a clear error that does not repeat it.
    let wrong = format!("redis://:not-the-password@127.0.0.1:{}/0", primary.port());
    let out = cli.run(&["redis", "--redis", &wrong, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(stdout.contains("\"refused\""), "{stdout}");
    assert!(!stdout.contains("not-the-password") && !stderr.contains("not-the-password"));

    // A profile without Redis says how to add one.
    let out = cli.run(&["redis"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no Redis URL"));
}

/// A keyspace smaller than one SCAN batch comes back with the cursor at 0 at once: a key budget
/// below DBSIZE must still count as a sample (scaled up, with its standard error), not as complete.
#[tokio::test]
async fn a_key_budget_inside_one_scan_batch_is_a_sample() {
    let server = RedisServer::start().unwrap();
    let url = server.url();
    let mut conn = client(&url).await;
    let mut pipe = redis::pipe();
    for i in 0..600 {
        pipe.cmd("SET").arg(format!("item:{i}")).arg("v".repeat(50 + (i % 13) * 20)).ignore();
    }
    let _: () = pipe.query_async(&mut conn).await.unwrap();

    let r = Cli::new().json(&["redis", "--redis", &url, "--sample-keys", "200", "--json"]);
    let k = &r["memory_by_prefix"];
    assert_eq!(k["keys_in_db"], 600);
    assert_eq!(k["keys_sampled"], 200);
    assert_eq!(k["stopped_by"], "key budget", "{k}");
    assert!((k["sample_fraction"].as_f64().unwrap() - 200.0 / 600.0).abs() < 1e-9, "{k}");
    let p = prefix(&r, "item:");
    assert!((p["estimated_keys"].as_f64().unwrap() - 600.0).abs() < 1e-6, "{p}");
    assert!(p["standard_error_bytes"].as_f64().unwrap() > 0.0, "{p}");
}
