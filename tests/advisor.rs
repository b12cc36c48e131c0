//! `simba-tuner advise` and `action preview|apply|rollback` with the real binary against harness
//! servers: a Redis cache left at maxmemory 0 / noeviction, a PostgreSQL with an unused index and a
//! vector column without an index. The server's own figures are checked after each step.

mod common;

use common::{apply_args, finding, refused_preview, test_secret, Cli};
use serde_json::Value;
use simba_testkit::{PostgresServer, RedisServer};
use std::process::Command;
use std::time::{Duration, Instant};

async fn config_get(url: &str, name: &str) -> String {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query_async(&mut c).await.unwrap();
    v[1].clone()
}

fn evidence<'a>(f: &'a Value, name: &str) -> &'a str {
    f["evidence"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["value"].as_str().unwrap()
}

/// `--param k=v` for each of a fix's params.
fn param_args(fix: &Value) -> Vec<String> {
    fix["params"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(k, v)| ["--param".into(), format!("{k}={}", v.as_str().unwrap())])
        .collect()
}

#[tokio::test]
async fn advise_finds_the_mistuned_servers_and_fixes_them_reversibly() {
    let password = test_secret("advisor-redis");
    let redis_server = RedisServer::start_with(&["--requirepass", &password]).unwrap();
    let pg = PostgresServer::start().unwrap();
    pg.psql(
        "CREATE TABLE events(id int, kind text);
         INSERT INTO events SELECT g, 'k' || (g % 5) FROM generate_series(1, 2000) g;
         CREATE INDEX events_kind_b ON events(kind);
         CREATE TABLE docs(id int PRIMARY KEY, embedding vector(3));
         INSERT INTO docs SELECT g, ARRAY[g, 1, 2]::real[]::vector FROM generate_series(1, 300) g;
         ANALYZE;",
    )
    .unwrap();
    // Used as a cache: every key expires.
    {
        let client = redis::Client::open(redis_server.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        for i in 0..50 {
            let _: () = redis::cmd("SET")
                .arg(format!("cache:{i}"))
                .arg("v")
                .arg("EX")
                .arg(600)
                .query_async(&mut c)
                .await
                .unwrap();
        }
    }
    let cli = Cli::new();
    let out = cli.run(&["profile", "add", "lab", "--redis", &redis_server.url(), "--postgres", &pg.url()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The lab's tables are small: lower PgHero's 10 MB and the 10,000-row floors for this profile.
    std::fs::write(
        cli.config_dir().join("advisor.toml"),
        "[profiles.lab]\n\"pg.unused_index.min_bytes\" = 0\n\"pg.vector_without_index.min_rows\" = 0\n",
    )
    .unwrap();

    let report = cli.json(&["advise", "--profile", "lab", "--json"]);
    assert_eq!(report["problems"], serde_json::json!([]), "{report:#}");
    assert!(report["redis_roles"].as_array().unwrap().contains(&"cache".into()));
    let unset = finding(&report, "redis.maxmemory_unset");
    assert_eq!(evidence(unset, "maxmemory"), "0");
    let noeviction = finding(&report, "redis.noeviction_on_cache");
    assert_eq!(evidence(noeviction, "keys with a TTL"), "50 of 50");
    assert_eq!(noeviction["fix"]["params"]["value"], "allkeys-lru");
    let unused = finding(&report, "pg.unused_index:public.events_kind_b");
    assert_eq!(unused["fix"]["action"], "pg.drop_index");
    assert_eq!(evidence(unused, "definition"), "CREATE INDEX events_kind_b ON public.events USING btree (kind)");
    let vector = finding(&report, "pg.vector_without_index:public.docs.embedding");
    assert_eq!(evidence(vector, "rows"), "300");
    assert_eq!(vector["fix"]["action"], "pg.create_vector_index");

    // Redis: the finding's own fix, previewed, applied, audited, rolled back.
    let mut preview_args = vec!["action", "preview", "redis.config_set", "--profile", "lab", "--json"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    preview_args.extend(param_args(&noeviction["fix"]));
    let args: Vec<&str> = preview_args.iter().map(String::as_str).collect();
    let preview = cli.json(&args);
    assert_eq!(preview["statements"], serde_json::json!(["CONFIG SET maxmemory-policy allkeys-lru"]));
    assert_eq!(preview["changes"][0]["before"], "noeviction");
    let token = preview["confirm_token"].as_str().unwrap().to_string();

    // Without --confirm and without a terminal: refused, nothing changed.
    let mut apply_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    apply_args[1] = "apply".into();
    let no_confirm: Vec<&str> = apply_args.iter().map(String::as_str).collect();
    let out = cli.run(&no_confirm);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no terminal"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(config_get(&redis_server.url(), "maxmemory-policy").await, "noeviction");

    let mut with_confirm = no_confirm.clone();
    with_confirm.extend(["--confirm", token.as_str()]);
    let entry = cli.json(&with_confirm);
    assert_eq!(entry["outcome"], "applied");
    assert_eq!(config_get(&redis_server.url(), "maxmemory-policy").await, "allkeys-lru");
    let audit = cli.json(&["audit", "--profile", "lab", "--json"]);
    assert_eq!(audit[0]["id"], entry["id"]);
    assert_eq!(
        audit[0]["changes"][0],
        serde_json::json!({"name": "maxmemory-policy", "before": "noeviction", "after": "allkeys-lru"})
    );

    // The same token once more is stale: the value it was computed from is gone.
    let out = cli.run(&with_confirm);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"conflict\""), "{}", String::from_utf8_lossy(&out.stdout));

    let id = entry["id"].as_str().unwrap();
    let back = cli.json(&["action", "preview", "--rollback-of", id, "--profile", "lab", "--json"]);
    assert_eq!(back["statements"], serde_json::json!(["CONFIG SET maxmemory-policy noeviction"]));
    let undone = cli.json(&["action", "rollback", id, "--confirm", back["confirm_token"].as_str().unwrap(), "--json"]);
    assert_eq!(undone["rollback_of"], id);
    assert_eq!(config_get(&redis_server.url(), "maxmemory-policy").await, "noeviction");

    // PostgreSQL: drop the unused index, then recreate it by rollback.
    let preview = cli.json(&[
        "action",
        "preview",
        "pg.drop_index",
        "--profile",
        "lab",
        "--param",
        "index=public.events_kind_b",
        "--json",
    ]);
    let token = preview["confirm_token"].as_str().unwrap();
    let dropped = cli.json(&[
        "action",
        "apply",
        "pg.drop_index",
        "--profile",
        "lab",
        "--param",
        "index=public.events_kind_b",
        "--confirm",
        token,
        "--json",
    ]);
    assert_eq!(dropped["outcome"], "applied", "{dropped:#}");
    assert_eq!(pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'events_kind_b'").unwrap().trim(), "0");
    let id = dropped["id"].as_str().unwrap();
    let back = cli.json(&["action", "preview", "--rollback-of", id, "--profile", "lab", "--json"]);
    cli.json(&[
        "action",
        "rollback",
        id,
        "--profile",
        "lab",
        "--confirm",
        back["confirm_token"].as_str().unwrap(),
        "--json",
    ]);
    assert_eq!(
        pg.psql("SELECT indexdef FROM pg_indexes WHERE indexname = 'events_kind_b'").unwrap().trim(),
        "CREATE INDEX events_kind_b ON public.events USING btree (kind)"
    );

    // A read-only profile on the same Redis: refused in the core, nothing changed.
    let out = cli.run(&["profile", "add", "watch", "--read-only", "--redis", &redis_server.url()]);
    assert!(out.status.success());
    let out = cli.run(&[
        "action",
        "apply",
        "redis.config_set",
        "--profile",
        "watch",
        "--param",
        "name=maxmemory-policy",
        "--param",
        "value=allkeys-lru",
        "--confirm",
        "whatever",
        "--json",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"read_only\""), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(config_get(&redis_server.url(), "maxmemory-policy").await, "noeviction");

    // The audit log: four entries, private, without the password.
    let path = cli.home.path().join("data").join("audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(!text.contains(&password));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}

/// The `changes[0]` before and after of an action's answer.
fn before_after(v: &Value) -> (String, String) {
    let c = &v["changes"][0];
    (c["before"].as_str().unwrap_or_default().to_string(), c["after"].as_str().unwrap_or_default().to_string())
}

#[test]
fn postgres_extension_statistics_and_ivfflat_actions() {
    let pg = PostgresServer::start().unwrap();
    // pg_stat_statements preloaded but not created here; a table whose statistics autovacuum
    // does not refresh (switched off for it), changed wholesale since its last ANALYZE.
    // One psql call is one transaction: each step its own, so the counters see them in order.
    for sql in [
        "DROP EXTENSION pg_stat_statements",
        "CREATE TABLE orders(id int, amount numeric) WITH (autovacuum_enabled = false);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 20000) g",
        "ANALYZE orders",
        "UPDATE orders SET amount = amount + 1",
        "CREATE TABLE docs(id int PRIMARY KEY, embedding vector(3));
         INSERT INTO docs SELECT g, ARRAY[g, 1, 2]::real[]::vector FROM generate_series(1, 3000) g",
        "ANALYZE docs",
    ] {
        pg.psql(sql).unwrap();
    }
    let cli = Cli::new();
    let out = cli.run(&["profile", "add", "lab", "--postgres", &pg.url()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let report = cli.json(&["advise", "--profile", "lab", "--json"]);
    let missing = finding(&report, "pg.stat_statements_missing");
    assert_eq!(missing["fix"]["action"], "pg.create_extension", "{missing:#}");
    let stale = finding(&report, "pg.stale_statistics:public.orders");
    assert_eq!(evidence(stale, "rows changed since analyze"), "20000");
    assert_eq!(evidence(stale, "autovacuum analyzes after"), "2050");
    assert_eq!(stale["fix"]["params"]["table"], "public.orders");

    // CREATE EXTENSION: previewed, applied, the statistics readable, rolled back, created again.
    let preview = cli.json(&["apply", "pg.stat_statements_missing", "--profile", "lab", "--dry-run", "--json"]);
    assert_eq!(preview["statements"][2], "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", "{preview:#}");
    assert!(preview["notes"].to_string().contains("is preloaded"), "{preview:#}");
    let created = cli.json(&["apply", "pg.stat_statements_missing", "--profile", "lab", "--yes", "--json"]);
    assert_eq!(created["outcome"], "applied", "{created:#}");
    assert_eq!(before_after(&created), ("absent".into(), "installed".into()));
    assert_eq!(pg.psql("SELECT count(*) > 0 FROM pg_stat_statements").unwrap().trim(), "t");
    let report = cli.json(&["advise", "--profile", "lab", "--json"]);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["id"] != "pg.stat_statements_missing"));
    let undone = cli.json(&["rollback", created["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(undone["statements"][2], "DROP EXTENSION pg_stat_statements");
    assert_eq!(pg.psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'").unwrap().trim(), "0");
    refused_preview(&cli, "pg.create_extension", "lab", &["name=plpython3u"]);

    // ANALYZE: the statistics refreshed (read back from pg_stat_user_tables); no rollback.
    let analyzed = cli.json(&["apply", "pg.stale_statistics:public.orders", "--profile", "lab", "--yes", "--json"]);
    assert_eq!(analyzed["outcome"], "applied", "{analyzed:#}");
    assert_eq!(analyzed["statements"][2], "ANALYZE public.orders");
    let (before, after) = before_after(&analyzed);
    assert!(before.starts_with("analyzed ") && after.starts_with("analyzed ") && after > before, "{before} → {after}");
    assert_eq!(
        pg.psql("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'orders'").unwrap().trim(),
        "0"
    );
    let report = cli.json(&["advise", "--profile", "lab", "--json"]);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["id"] != "pg.stale_statistics:public.orders"));
    let out = cli.run(&["rollback", analyzed["id"].as_str().unwrap(), "--yes", "--json"]);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("no before to put back"), "{err}");

    // IVFFlat with lists computed from the rows (3000 / 1000 = 3), then dropped by rollback.
    let ivf = [
        "action",
        "preview",
        "pg.create_vector_index",
        "--profile",
        "lab",
        "--param",
        "table=public.docs",
        "--param",
        "column=embedding",
        "--param",
        "method=ivfflat",
        "--param",
        "ops=vector_l2_ops",
        "--json",
    ];
    let preview = cli.json(&ivf);
    let create = preview["statements"][3].as_str().unwrap();
    assert_eq!(
        create,
        "CREATE INDEX CONCURRENTLY docs_embedding_ivfflat_idx ON public.docs USING ivfflat (embedding vector_l2_ops) \
         WITH (lists = 3)"
    );
    assert!(preview["notes"][0].as_str().unwrap().contains("ivfflat.probes"), "{preview:#}");
    let apply = apply_args(&ivf, &preview);
    // A session holding an older snapshot makes CREATE INDEX CONCURRENTLY wait for it: the build's
    // progress (pg_stat_progress_create_index) shows that phase while the apply runs.
    let reader = {
        let port = pg.port();
        let bin = pg.bin_dir().to_path_buf();
        std::thread::spawn(move || {
            Command::new(bin.join("psql"))
                .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-p", &port.to_string()])
                .args([
                    "-c",
                    "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM docs; SELECT pg_sleep(3); COMMIT;",
                ])
                .output()
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let out = cli.run(&apply);
    assert!(reader.join().unwrap().status.success());
    let shown = String::from_utf8_lossy(&out.stderr);
    assert!(
        shown.contains("pg.create_vector_index: waiting for old snapshots") && shown.contains(" lockers)"),
        "{shown}"
    );
    let built: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(built["outcome"], "applied", "{built:#}");
    assert_eq!(
        pg.psql("SELECT indexdef FROM pg_indexes WHERE indexname = 'docs_embedding_ivfflat_idx'").unwrap().trim(),
        // vector_l2_ops is ivfflat's default class: the server's definition leaves it out.
        "CREATE INDEX docs_embedding_ivfflat_idx ON public.docs USING ivfflat (embedding) WITH (lists='3')"
    );
    let undone = cli.json(&["rollback", built["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'docs_embedding_ivfflat_idx'").unwrap().trim(),
        "0"
    );

    // Permission denied: a role that may connect but not ALTER SYSTEM or create extensions gets
    // the server's refusal, nothing changed, and the audit log says so.
    pg.psql("CREATE ROLE tuner LOGIN").unwrap();
    let url = pg.url().replace("postgres://postgres@", "postgres://tuner@");
    let out = cli.run(&["profile", "add", "limited", "--postgres", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let args = [
        "action",
        "preview",
        "pg.alter_system",
        "--profile",
        "limited",
        "--param",
        "name=work_mem",
        "--param",
        "value=8MB",
        "--json",
    ];
    let preview = cli.json(&args);
    let apply = apply_args(&args, &preview);
    let out = cli.run(&apply);
    assert!(!out.status.success());
    let failed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed:#}");
    let message = failed["message"].as_str().unwrap();
    assert!(message.contains("permission denied") && message.contains("nothing was changed"), "{message}");
    assert_eq!(pg.psql("SHOW work_mem").unwrap().trim(), "4MB");
    let out = cli.run(&["apply", "pg.stat_statements_missing", "--profile", "limited", "--yes", "--json"]);
    let failed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed:#}");
    assert!(failed["message"].as_str().unwrap().contains("permission denied"), "{failed:#}");
    assert_eq!(pg.psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'").unwrap().trim(), "0");
}

#[test]
fn a_connection_lost_in_the_middle_of_an_action_is_read_back_and_said() {
    let pg = PostgresServer::start().unwrap();
    pg.psql(
        "CREATE TABLE docs(id int PRIMARY KEY, embedding vector(3));
         INSERT INTO docs SELECT g, ARRAY[g, 1, 2]::real[]::vector FROM generate_series(1, 500) g",
    )
    .unwrap();
    let cli = Cli::new();
    assert!(cli.run(&["profile", "add", "lab", "--postgres", &pg.url()]).status.success());
    let args = [
        "action",
        "preview",
        "pg.create_vector_index",
        "--profile",
        "lab",
        "--param",
        "table=public.docs",
        "--param",
        "column=embedding",
        "--json",
    ];
    let preview = cli.json(&args);
    let mut apply: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    apply[1] = "apply".into();
    apply.extend(["--confirm".into(), preview["confirm_token"].as_str().unwrap().into()]);

    // Another session holds a lock the build must wait for; while it waits, its backend is
    // terminated (what a failover or an admin's pg_terminate_backend does).
    let (bin, port) = (pg.bin_dir().to_path_buf(), pg.port());
    let psql = move |sql: &str| {
        Command::new(bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-p"])
            .arg(port.to_string())
            .args(["-c", sql])
            .output()
            .unwrap()
    };
    let holder = {
        let psql = psql.clone();
        std::thread::spawn(move || psql("BEGIN; LOCK TABLE docs IN SHARE MODE; SELECT pg_sleep(6); COMMIT;"))
    };
    let killer = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(9) {
            let out = psql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                  WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
            );
            if String::from_utf8_lossy(&out.stdout).trim() == "t" {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    });
    std::thread::sleep(Duration::from_millis(300));
    let out = cli.run(&apply.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(killer.join().unwrap(), "the build never waited on the lock");
    holder.join().unwrap();
    assert!(!out.status.success());
    let entry: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Read back over a fresh connection: the index is not there, and the entry says why.
    assert_eq!(entry["outcome"], "failed", "{entry:#}");
    assert_eq!(entry["changes"][0]["after"], "absent", "{entry:#}");
    assert!(entry["message"].as_str().unwrap().contains("terminating connection"), "{entry:#}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_indexes WHERE tablename = 'docs' AND indexname <> 'docs_pkey'")
            .unwrap()
            .trim(),
        "0"
    );
    let audit = cli.json(&["audit", "--profile", "lab", "--json"]);
    assert_eq!(audit[0]["id"], entry["id"]);
    // A failed entry has nothing to roll back; the same build, confirmed again, now goes through.
    let out = cli.run(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("did not apply"), "{}", String::from_utf8_lossy(&out.stdout));
    let built = cli.json(&apply.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(built["outcome"], "applied", "{built:#}");

    // The server gone between the preview and the confirmation: refused, nothing audited.
    let redis_server = RedisServer::start().unwrap();
    assert!(cli.run(&["profile", "add", "cache", "--redis", &redis_server.url()]).status.success());
    let args = [
        "action",
        "preview",
        "redis.config_set",
        "--profile",
        "cache",
        "--param",
        "name=timeout",
        "--param",
        "value=300",
        "--json",
    ];
    let preview = cli.json(&args);
    drop(redis_server);
    let apply = apply_args(&args, &preview);
    let out = cli.run(&apply);
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "unreachable", "{err}");
    assert_eq!(cli.json(&["audit", "--profile", "cache", "--json"]).as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_redis_change_persisted_by_config_rewrite_is_undone_there_too() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redis.conf");
    std::fs::write(&conf, "# the platform's cache\nmaxmemory-policy noeviction\n").unwrap();
    let server = RedisServer::start_with(&[conf.to_str().unwrap()]).unwrap();
    let plain = RedisServer::start().unwrap();
    let cli = Cli::new();
    assert!(cli.run(&["profile", "add", "lab", "--redis", &server.url()]).status.success());
    assert!(cli.run(&["profile", "add", "plain", "--redis", &plain.url()]).status.success());
    let args = [
        "action",
        "preview",
        "redis.config_set",
        "--profile",
        "lab",
        "--param",
        "name=maxmemory-policy",
        "--param",
        "value=allkeys-lru",
        "--param",
        "persist=yes",
        "--json",
    ];
    let preview = cli.json(&args);
    assert_eq!(preview["statements"], serde_json::json!(["CONFIG SET maxmemory-policy allkeys-lru", "CONFIG REWRITE"]));
    assert!(preview["notes"][0].as_str().unwrap().contains(conf.to_str().unwrap()), "{preview:#}");
    let apply = apply_args(&args, &preview);
    let entry = cli.json(&apply);
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    assert!(entry["message"].is_null(), "{entry:#}");
    let file = std::fs::read_to_string(&conf).unwrap();
    assert!(file.contains("maxmemory-policy allkeys-lru") && file.contains("# the platform's cache"), "{file}");
    assert!(!file.contains("noeviction"), "{file}");

    // The rollback writes the file back as well.
    let undone = cli.json(&["rollback", entry["id"].as_str().unwrap(), "--yes", "--json"]);
    assert_eq!(undone["outcome"], "applied", "{undone:#}");
    assert_eq!(undone["statements"][1], "CONFIG REWRITE");
    assert_eq!(config_get(&server.url(), "maxmemory-policy").await, "noeviction");
    assert!(std::fs::read_to_string(&conf).unwrap().contains("maxmemory-policy noeviction"));

    // Cleanup of a cache prefix: only the keys with a TTL go; keys without one stay (KNOWN-TRAPS #4).
    {
        let mut c = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
        for i in 0..40 {
            let _: () = redis::cmd("SET")
                .arg(format!("cache:{i}"))
                .arg("v")
                .arg("EX")
                .arg(600)
                .query_async(&mut c)
                .await
                .unwrap();
        }
        for i in 0..5 {
            let _: () = redis::cmd("SET").arg(format!("cache:pinned:{i}")).arg("v").query_async(&mut c).await.unwrap();
        }
        let _: () = redis::cmd("SET").arg("session:1").arg("v").arg("EX").arg(600).query_async(&mut c).await.unwrap();
    }
    let args = ["action", "preview", "redis.cleanup", "--profile", "lab", "--param", "prefix=cache:", "--json"];
    let preview = cli.json(&args);
    assert_eq!(preview["changes"][0]["before"], "40", "{preview:#}");
    assert!(preview["notes"][0].as_str().unwrap().starts_with("5 keys under 'cache:' have no TTL"), "{preview:#}");
    let apply = apply_args(&args, &preview);
    let cleaned = cli.json(&apply);
    assert_eq!(cleaned["outcome"], "applied", "{cleaned:#}");
    assert_eq!(cleaned["message"], "40 keys deleted");
    let mut c = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let size: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
    assert_eq!(size, 6, "the 5 keys without a TTL and the other prefix stay");
    let out = cli.run(&["rollback", cleaned["id"].as_str().unwrap(), "--yes", "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot be put back"));
    for bad in ["prefix=celery-task-meta-", "prefix=cache:*"] {
        refused_preview(&cli, "redis.cleanup", "lab", &[bad]);
    }

    // A server started without a config file: persist is refused before anything runs.
    let message = refused_preview(&cli, "redis.config_set", "plain", &["name=timeout", "value=300", "persist=yes"]);
    assert!(message.contains("without a config file"), "{message}");
    assert_eq!(config_get(&plain.url(), "timeout").await, "0");
}

/// KNOWN-TRAPS.md in a live PostgreSQL: each trap set up as the spec would, flagged by its rule,
/// and never what a fix recommends.
#[test]
fn the_spec_traps_in_a_live_postgres_are_flagged_and_never_recommended() {
    // #5: log_statement = 'all' beside log_min_duration_statement = 1000.
    let pg = PostgresServer::start_with(&["log_statement=all", "log_min_duration_statement=1000"]).unwrap();
    for sql in [
        // #6: a large table read by sequential scans (its rows found with the statistics, not the
        // n_distinct/correlation heuristic).
        "CREATE TABLE events(id int, kind text); \
         INSERT INTO events SELECT g, 'k' || (g % 50) FROM generate_series(1, 20000) g",
        "ANALYZE events",
        // #8: ivfflat with the spec's fixed lists = 100 on 3000 rows, and probes left at 1.
        "CREATE TABLE docs(id int PRIMARY KEY, embedding vector(3)); \
         INSERT INTO docs SELECT g, ARRAY[g, g % 7, 2]::real[]::vector FROM generate_series(1, 3000) g",
        "CREATE INDEX docs_ivf ON docs USING ivfflat (embedding vector_l2_ops) WITH (lists = 100)",
        "ANALYZE docs",
        "SELECT pg_stat_statements_reset()",
    ] {
        pg.psql(sql).unwrap();
    }
    pg.psql(&"SELECT count(*) FROM events WHERE kind = 'k7';".repeat(30)).unwrap();
    // #7: frequent and slow (120 calls of 25 ms) is listed; one slow call alone is not.
    pg.psql(&"SELECT pg_sleep(0.025);".repeat(120)).unwrap();
    pg.psql("SELECT pg_sleep(0.4), 'once'").unwrap();
    let cli = Cli::new();
    assert!(cli.run(&["profile", "add", "lab", "--postgres", &pg.url()]).status.success());
    // The lab's vector table is small: lower the 10,000-row floor of the ivfflat rule for it.
    std::fs::write(cli.config_dir().join("advisor.toml"), "[profiles.lab]\n\"pg.ivfflat_lists.min_rows\" = 0\n")
        .unwrap();
    let report = cli.json(&["advise", "--profile", "lab", "--json"]);

    let trap5 = finding(&report, "pg.log_statement_all");
    assert_eq!(trap5["fix"]["params"]["value"], "ddl", "{trap5:#}");
    let trap6 = finding(&report, "pg.seq_scans:public.events");
    assert!(trap6["title"].as_str().unwrap().contains("0%"), "{trap6:#}");
    let slow: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "pg.slow_statements").collect();
    let listed = serde_json::to_string(&slow).unwrap();
    assert!(listed.contains("pg_sleep($1)"), "{listed}");
    assert!(!listed.contains("once"), "a single slow call is not a slow statement: {listed}");
    let trap8 = finding(&report, "pg.ivfflat_lists:public.docs_ivf");
    assert!(trap8.to_string().contains("100") && trap8.to_string().contains('3'), "{trap8:#}");
    assert!(
        report["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "pg.ivfflat_probes"),
        "{:#}",
        report["findings"]
    );

    // Never recommended: no fix sets log_statement to 'all' or keeps lists = 100, and the action
    // refuses 'all' outright while slow statements are logged by duration.
    for f in report["findings"].as_array().unwrap() {
        let fix = f["fix"].to_string();
        assert!(!fix.contains("\"value\":\"all\""), "{fix}");
        assert!(!fix.contains("lists = 100"), "{fix}");
    }
    let message = refused_preview(&cli, "pg.alter_system", "lab", &["name=log_statement", "value=all"]);
    assert!(message.contains("log_min_duration_statement"), "{message}");
    // The trap's own fix: here the server's command line sets log_statement, which outranks ALTER
    // SYSTEM. The preview says so, and the read-back reports the value unchanged, not `applied`.
    let preview = cli.json(&["apply", "pg.log_statement_all", "--profile", "lab", "--dry-run", "--json"]);
    assert!(preview["notes"][0].as_str().unwrap().contains("command line setting, which outranks ALTER SYSTEM"));
    let out = cli.run(&["apply", "pg.log_statement_all", "--profile", "lab", "--yes", "--json"]);
    let entry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry["outcome"], "unverified", "{entry:#}");
    assert!(entry["message"].as_str().unwrap().contains("still reads 'all'"), "{entry:#}");
    assert_eq!(pg.psql("SHOW log_statement").unwrap().trim(), "all");
}

/// KNOWN-TRAPS.md #1–#3 in live servers, each set up as the spec would: flagged by its rule, fixed
/// by the rule's value (never the spec's), and the spec's value refused by the action. The
/// servers' memory is their own: each is moved into a memory cgroup, as a container's `mem_limit`
/// does; where cgroups are not writable (not root) the profile gives the memory instead.
#[test]
fn the_spec_memory_and_broker_traps_in_live_servers_are_flagged_and_never_recommended() {
    const MIB: u64 = 1024 * 1024;
    let cli = Cli::new();
    let mut profile_memory = String::new();

    // #2: `maxmemory 2gb` in a container with `mem_limit: 512m`.
    let redis = RedisServer::start_with(&["--maxmemory", "2gb"]).unwrap();
    let redis_box = simba_testkit::MemoryCgroup::create(512 * MIB);
    match &redis_box {
        Ok(group) => group.add(redis.pid()).unwrap(),
        Err(e) => {
            eprintln!("the Redis server gets its limit from the profile: {e}");
            profile_memory.push_str(&format!("[profiles.trap2]\n\"redis.memory_limit_bytes\" = {}\n", 512 * MIB));
        }
    }
    // #1: shared_buffers 256MB "25% of RAM" beside effective_cache_size 1GB, on a 1 GB server.
    let pg = PostgresServer::start_with(&["shared_buffers=256MB", "effective_cache_size=1GB"]).unwrap();
    let pg_box = simba_testkit::MemoryCgroup::create(1024 * MIB);
    match &pg_box {
        // Backends are forked from the postmaster: every new session lives in its group.
        Ok(group) => group.add(pg.pid()).unwrap(),
        Err(e) => {
            eprintln!("the PostgreSQL server gets its memory from the profile: {e}");
            profile_memory.push_str(&format!("[profiles.trap1]\n\"pg.server_memory_bytes\" = {}\n", 1024 * MIB));
        }
    }
    // #3: allkeys-lru on the Redis that is also the Celery broker (db 1).
    let shared = RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]).unwrap();
    for (name, args) in [
        ("trap1", vec!["--postgres".to_string(), pg.url()]),
        ("trap2", vec!["--redis".to_string(), redis.url()]),
        ("trap3", vec!["--redis".to_string(), shared.url(), "--celery-broker".to_string(), shared.url_db(1)]),
    ] {
        let mut add = vec!["profile", "add", name];
        add.extend(args.iter().map(String::as_str));
        assert!(cli.run(&add).status.success(), "profile add {name}");
    }
    std::fs::write(cli.config_dir().join("advisor.toml"), &profile_memory).unwrap();
    let never = |report: &Value, what: &str, spec_value: &str| {
        for f in report["findings"].as_array().unwrap() {
            let params = f["fix"]["params"].as_object().cloned().unwrap_or_default();
            if params.get("name").and_then(Value::as_str) == Some(what) {
                assert_ne!(params["value"], spec_value, "a fix recommends the spec's {what}: {f:#}");
            }
        }
    };

    // #1: PGTune's 768MB for effective_cache_size; 256MB shared_buffers is right for 1 GB.
    let report = cli.json(&["advise", "--profile", "trap1", "--json"]);
    let trap1 = finding(&report, "pg.memory_settings:effective_cache_size");
    assert_eq!(evidence(trap1, "server memory"), "1.0 GiB", "{trap1:#}");
    assert_eq!(trap1["fix"]["params"]["value"], "768MB", "{trap1:#}");
    let source = trap1["evidence"].as_array().unwrap().iter().find(|e| e["name"] == "server memory").unwrap()["unit"]
        .to_string();
    if pg_box.is_ok() {
        assert!(source.contains("of the server's process"), "{source}");
        // The spec's own value stays; more than the server has is refused before it runs.
        let message = refused_preview(&cli, "pg.alter_system", "trap1", &["name=effective_cache_size", "value=2GB"]);
        assert!(message.contains("more than the server's memory"), "{message}");
    } else {
        assert!(source.contains("advisor.toml"), "{source}");
    }
    assert!(
        !report["findings"].as_array().unwrap().iter().any(|f| f["id"] == "pg.memory_settings:shared_buffers"),
        "{:#}",
        report["findings"]
    );
    never(&report, "effective_cache_size", "1GB");

    // #2: the container is OOM-killed before Redis evicts; the fix is 75% of the limit.
    let report = cli.json(&["advise", "--profile", "trap2", "--json"]);
    let trap2 = finding(&report, "redis.maxmemory_above_limit");
    assert_eq!(trap2["severity"], "critical");
    assert_eq!(evidence(trap2, "memory limit"), "512.0 MiB", "{trap2:#}");
    assert_eq!(trap2["fix"]["params"]["value"], (384 * MIB).to_string(), "{trap2:#}");
    never(&report, "maxmemory", &(2048 * MIB).to_string());
    if redis_box.is_ok() {
        let source = trap2.to_string();
        assert!(source.contains(&format!("of the server's process (pid {})", redis.pid())), "{trap2:#}");
        let too_much = format!("value={}", 1024 * MIB);
        let message = refused_preview(&cli, "redis.config_set", "trap2", &["name=maxmemory", &too_much]);
        assert!(message.contains("OOM-killed"), "{message}");
    }
    let out = cli.run(&["apply", "redis.maxmemory_above_limit", "--profile", "trap2", "--yes", "--json"]);
    let entry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    let mut conn = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query(&mut conn).unwrap();
    assert_eq!(v[1], (384 * MIB).to_string());

    // #3: instance-wide allkeys-lru can evict the queues: volatile-lru instead, allkeys-* refused.
    let report = cli.json(&["advise", "--profile", "trap3", "--json"]);
    assert!(report["redis_roles"].to_string().contains("celery_broker"), "{report:#}");
    let trap3 = finding(&report, "redis.allkeys_on_broker");
    assert_eq!(trap3["severity"], "critical");
    assert_eq!(trap3["fix"]["params"]["value"], "volatile-lru", "{trap3:#}");
    for f in report["findings"].as_array().unwrap() {
        assert!(!f["fix"]["params"]["value"].as_str().unwrap_or("").starts_with("allkeys-"), "{f:#}");
    }
    let out = cli.run(&["apply", "redis.allkeys_on_broker", "--profile", "trap3", "--yes", "--json"]);
    let entry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entry["outcome"], "applied", "{entry:#}");
    let mut conn = redis::Client::open(shared.url()).unwrap().get_connection().unwrap();
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory-policy").query(&mut conn).unwrap();
    assert_eq!(v[1], "volatile-lru");
    let message = refused_preview(&cli, "redis.config_set", "trap3", &["name=maxmemory-policy", "value=allkeys-lfu"]);
    assert!(message.contains("Celery broker"), "{message}");
    assert!(cli.json(&["advise", "--profile", "trap3", "--json"])["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["rule"] != "redis.allkeys_on_broker"));
}
