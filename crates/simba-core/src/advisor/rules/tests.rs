//! One generic test over the registry: a healthy system passes every rule, and for each rule one
//! change to it (its failing example) makes that rule, and only the rules named, find something.

use super::*;
use crate::engine::cache::types::{CacheSettings, Namespace};
use crate::engine::cache::NamespaceStats;
use crate::sources::celery::*;
use crate::sources::host::MemoryLimit;
use crate::sources::kubernetes::*;
use crate::sources::postgres_report::*;
use crate::sources::redis_report::*;

const MIB: u64 = 1024 * 1024;

struct Fixture {
    redis: RedisReport,
    db: DbReport,
    cache: CacheStats,
    queues: QueuesReport,
    hpas: HpasReport,
    deployments: DeploymentsReport,
    roles: RedisRoles,
}

fn kube_scope() -> KubeScope {
    KubeScope { server: "https://k8s.test".into(), namespace: None, via: "profile 'p'".into(), authenticated: true }
}

/// A broker with one live worker consuming llm_queue, inspected, nothing long or piling up.
fn healthy_queues() -> QueuesReport {
    let worker = "celery@w1".to_string();
    let now = crate::clock::now_secs();
    let stats = serde_json::json!({"pool": {"max-concurrency": 4, "processes": [1, 2, 3, 4]}, "prefetch_count": 16});
    let active = serde_json::json!([{"name": "tasks.llm", "time_start": now - 5.0}]);
    QueuesReport {
        collected_at: "2026-01-01T00:00:00Z".into(),
        broker: "redis://localhost:6379/1".into(),
        db: 1,
        celery_broker: true,
        queues: vec![QueueInfo {
            name: "llm_queue".into(),
            depth: 150,
            buckets: vec![],
            found_by: "binding".into(),
            consumers: vec![worker.clone()],
            task_names: vec![TaskCount { task: "tasks.llm".into(), count: 150 }],
            sampled: 150,
            undecodable: 0,
            net_rate_per_s: Some(-2.0),
            wait_estimate_seconds: Some(75.0),
        }],
        in_flight: InFlight {
            count: 2,
            index_count: 2,
            oldest_age_seconds: Some(5.0),
            visibility_timeout_seconds: 3600.0,
            past_visibility_timeout: 0,
            messages: vec![],
        },
        workers: vec![WorkerInfo {
            hostname: worker.clone(),
            alive: true,
            state: "online".into(),
            last_event_age_seconds: Some(1.0),
            freq: Some(2.0),
            active: Some(1),
            processed: Some(10),
            loadavg: None,
            sw_ver: None,
            queues: vec!["llm_queue".into()],
        }],
        listen_seconds: 2.5,
        rate_interval_seconds: 2.5,
        inspect: Some(InspectReport {
            replies: [(worker, [("stats".to_string(), stats), ("active".to_string(), active)].into_iter().collect())]
                .into_iter()
                .collect(),
            problem: None,
        }),
        findings: vec![],
    }
}

fn healthy_hpas() -> HpasReport {
    HpasReport {
        scope: kube_scope(),
        hpas: vec![HpaInfo {
            namespace: "prod".into(),
            name: "api".into(),
            target: "Deployment/api".into(),
            min_replicas: Some(2),
            max_replicas: Some(10),
            current_replicas: Some(4),
            desired_replicas: Some(4),
            last_scale_time: None,
            metrics: vec![HpaMetric {
                kind: "Resource".into(),
                name: "cpu".into(),
                target_utilization: Some(70.0),
                current_utilization: Some(60.0),
                target_value: None,
                current_value: None,
                over_target: false,
            }],
            conditions: vec![],
            able_to_scale: Some(true),
            scaling_limited: Some(false),
            at_max_replicas: false,
            pinned_at_max: false,
        }],
    }
}

fn healthy_deployments() -> DeploymentsReport {
    DeploymentsReport {
        scope: kube_scope(),
        deployments: vec![DeploymentInfo {
            namespace: "prod".into(),
            name: "api".into(),
            replicas: Some(4),
            ready_replicas: 4,
            available_replicas: 4,
            updated_replicas: 4,
            containers: vec![],
            pod_cpu_request_cores: Some(0.5),
            pod_cpu_limit_cores: Some(1.0),
            pod_memory_request_bytes: Some(256.0 * MIB as f64),
            pod_memory_limit_bytes: Some(512.0 * MIB as f64),
            pods_measured: 4,
            cpu_usage_avg_cores: Some(0.3),
            cpu_usage_max_cores: Some(0.4),
            memory_usage_avg_bytes: Some(200.0 * MIB as f64),
            memory_usage_max_bytes: Some(250.0 * MIB as f64),
            cpu_of_request: Some(0.6),
            memory_of_limit: Some(250.0 / 512.0),
            findings: vec![],
        }],
        usage_error: None,
    }
}

fn setting(name: &str, value: &str, setting: &str, bytes: Option<i64>) -> DbSetting {
    DbSetting {
        name: name.into(),
        value: value.into(),
        setting: setting.into(),
        unit: None,
        bytes,
        source: Some("configuration file".into()),
    }
}

fn healthy() -> Fixture {
    let redis = RedisReport {
        collected_at: "2026-01-01T00:00:00Z".into(),
        version: "7.0.15".into(),
        mode: "standalone".into(),
        uptime_seconds: 1000,
        local: true,
        memory: RedisMemory {
            used_memory_bytes: 100 * MIB,
            used_memory_rss_bytes: 110 * MIB,
            used_memory_peak_bytes: 120 * MIB,
            maxmemory_bytes: 512 * MIB,
            maxmemory_policy: "allkeys-lru".into(),
            mem_fragmentation_ratio: Some(1.1),
            used_of_maxmemory: Some(100.0 / 512.0),
            host_limit: Some(MemoryLimit { bytes: 2048 * MIB, source: "cgroup v2 memory.max".into() }),
            used_of_host_limit: Some(0.05),
        },
        stats: RedisStats { keyspace_hits: 9000, keyspace_misses: 1000, evicted_keys: 10, ..Default::default() },
        keyspace: vec![RedisKeyspaceDb { db: 0, keys: 1000, expires: 900, avg_ttl_ms: 60_000 }],
        persistence: Default::default(),
        replication: Default::default(),
        config: vec![
            RedisConfigValue { name: "timeout".into(), value: "300".into() },
            RedisConfigValue { name: "tcp-keepalive".into(), value: "300".into() },
        ],
        config_problem: None,
        clients: Default::default(),
        slowlog: vec![],
        slowlog_problem: None,
        latency: vec![],
        latency_problem: None,
        memory_by_prefix: Some(KeySample {
            db: 0,
            keys_in_db: 1000,
            keys_sampled: 1000,
            sample_fraction: 1.0,
            stopped_by: "complete".into(),
            elapsed_ms: 3,
            sampled_bytes: 100_000,
            estimated_total_bytes: 100_000.0,
            prefixes: vec![PrefixMemory {
                prefix: "cache:".into(),
                name: None,
                keys_sampled: 1000,
                bytes_sampled: 100_000,
                estimated_keys: 1000.0,
                estimated_bytes: 100_000.0,
                standard_error_bytes: 0.0,
                keys_without_ttl_sampled: 0,
                estimated_keys_without_ttl: 0.0,
            }],
            biggest_keys: vec![BigKey { key: "cache:1".into(), prefix: "cache:".into(), bytes: 1000, ttl_ms: Some(5) }],
        }),
        memory_by_prefix_problem: None,
    };
    let gib = 1024 * MIB as i64;
    let db = DbReport {
        collected_at: "2026-01-01T00:00:00Z".into(),
        version: "18.1".into(),
        database: "app".into(),
        user: "postgres".into(),
        superuser: true,
        local: true,
        server_memory: Some(MemoryLimit { bytes: 4 * 1024 * MIB, source: "MemTotal".into() }),
        settings: vec![
            setting("shared_buffers", "1GB", "131072", Some(gib)),
            setting("effective_cache_size", "3GB", "393216", Some(3 * gib)),
            setting("work_mem", "4MB", "4096", Some(4 * MIB as i64)),
            setting("maintenance_work_mem", "256MB", "262144", Some(256 * MIB as i64)),
            setting("max_connections", "100", "100", None),
            setting("log_min_duration_statement", "1s", "1000", None),
            setting("log_statement", "none", "none", None),
        ],
        settings_problem: None,
        statements: Some(StatementsReport {
            stats_reset: None,
            by_mean: vec![TopStatement {
                queryid: "42".into(),
                query: "SELECT 1".into(),
                calls: 5000,
                mean_ms: 0.5,
                mean_exec_ms: 0.4,
                mean_plan_ms: 0.1,
                total_ms: 2500.0,
                rows: 5000,
                shared_blks_hit: 10,
                shared_blks_read: 0,
                shared_hit_ratio: Some(1.0),
            }],
            by_total: vec![],
        }),
        statements_problem: None,
        connections: Connections {
            max_connections: 100,
            total: 5,
            used_of_max: 0.06,
            by_state: vec![],
            idle_in_transaction: 0,
            oldest_idle_in_transaction_seconds: None,
        },
        long_running: vec![],
        blocked: vec![],
        blocking: vec![],
        sessions_problem: None,
        tables: vec![TableStat {
            schema: "public".into(),
            name: "accounts".into(),
            total_bytes: 10_000_000,
            table_bytes: 8_000_000,
            rows: 100_000,
            dead_rows: 0,
            seq_scan: 1,
            seq_tup_read: 100_000,
            idx_scan: Some(1000),
            last_vacuum: None,
            last_autovacuum: None,
            last_analyze: None,
            last_autoanalyze: None,
            mod_since_analyze: 0,
        }],
        indexes: vec![],
        unused_indexes: vec![],
        duplicate_indexes: vec![],
        tables_problem: None,
        vector: Some(VectorReport {
            extension_version: "0.8.0".into(),
            ivfflat_probes: Some("10".into()),
            hnsw_ef_search: Some("40".into()),
            columns: vec![VectorColumn {
                schema: "public".into(),
                table: "docs".into(),
                column: "embedding".into(),
                type_name: "vector".into(),
                dimension: Some(384),
                rows: 50_000,
                indexes: vec![VectorIndex {
                    name: "docs_hnsw".into(),
                    method: "hnsw".into(),
                    opclass: "vector_cosine_ops".into(),
                    bytes: 1000,
                    lists: None,
                    m: Some(16),
                    ef_construction: Some(64),
                    options: vec![],
                }],
            }],
            columns_without_index: vec![],
        }),
        vector_problem: None,
    };
    let settings = CacheSettings::default();
    let cache = CacheStats {
        backend: "embedded".into(),
        backend_detail: String::new(),
        embedding_model: "all-MiniLM-L6-v2".into(),
        template_version: "v1".into(),
        defaults: settings.clone(),
        entries: 500,
        bytes: 1000,
        hits: 400,
        misses: 600,
        hit_rate: Some(0.4),
        evictions: 0,
        expirations: 0,
        lookup_latency: Default::default(),
        namespaces: vec![NamespaceStats {
            id: "default/alice".into(),
            namespace: Namespace {
                tenant: "default".into(),
                user: "alice".into(),
                item: None,
                model: "m".into(),
                template_version: "v1".into(),
            },
            entries: 500,
            bytes: 1000,
            hits: 400,
            misses: 600,
            hit_rate: Some(0.4),
            recent_hit_rate: None,
            evictions: 0,
            expirations: 0,
            shadow_hits: 0,
            score_histogram: vec![0; 20],
            settings,
        }],
    };
    Fixture {
        redis,
        db,
        cache,
        queues: healthy_queues(),
        hpas: healthy_hpas(),
        deployments: healthy_deployments(),
        roles: RedisRoles { celery_broker: false, cache: true },
    }
}

fn index_ref(name: &str, bytes: i64) -> IndexRef {
    IndexRef {
        schema: "public".into(),
        table: "events".into(),
        name: name.into(),
        bytes,
        definition: format!("CREATE INDEX {name} ON public.events USING btree (kind)"),
    }
}

fn set(db: &mut DbReport, name: &str, setting: &str, bytes: Option<i64>) {
    let s = db.settings.iter_mut().find(|s| s.name == name).unwrap();
    s.setting = setting.into();
    s.value = setting.into();
    s.bytes = bytes;
}

/// A rule's id and the one change to the healthy system that makes it fire.
type Breaker = (&'static str, fn(&mut Fixture));

/// Each rule's failing example: one change to the healthy system.
fn breakers() -> Vec<Breaker> {
    vec![
        ("redis.maxmemory_unset", |f| {
            f.redis.memory.maxmemory_bytes = 0;
            f.redis.memory.used_of_maxmemory = None;
        }),
        // KNOWN-TRAPS #2: maxmemory 2gb in a 512m container.
        ("redis.maxmemory_above_limit", |f| {
            f.redis.memory.maxmemory_bytes = 2048 * MIB;
            f.redis.memory.host_limit = Some(MemoryLimit { bytes: 512 * MIB, source: "cgroup v2 memory.max".into() });
        }),
        // KNOWN-TRAPS #3: allkeys-lru on the broker.
        ("redis.allkeys_on_broker", |f| f.roles.celery_broker = true),
        ("redis.noeviction_on_cache", |f| f.redis.memory.maxmemory_policy = "noeviction".into()),
        ("redis.memory_near_max", |f| f.redis.memory.used_of_maxmemory = Some(0.95)),
        ("redis.evictions", |f| f.redis.stats.evicted_keys = 100_000),
        ("redis.low_hit_rate", |f| (f.redis.stats.keyspace_hits, f.redis.stats.keyspace_misses) = (100, 9900)),
        ("redis.timeout_unset", |f| f.redis.config[0].value = "0".into()),
        ("redis.tcp_keepalive_unset", |f| f.redis.config[1].value = "0".into()),
        ("redis.big_keys", |f| f.redis.memory_by_prefix.as_mut().unwrap().biggest_keys[0].bytes = 5 * MIB),
        ("redis.cache_keys_without_ttl", |f| {
            f.redis.memory_by_prefix.as_mut().unwrap().prefixes[0].keys_without_ttl_sampled = 500
        }),
        ("pg.stat_statements_missing", |f| {
            f.db.statements = None;
            f.db.statements_problem =
                Some(format!("{} (…)", crate::sources::postgres_report::STATEMENTS_NOT_INSTALLED));
        }),
        ("pg.slow_log_off", |f| set(&mut f.db, "log_min_duration_statement", "-1", None)),
        // KNOWN-TRAPS #5.
        ("pg.log_statement_all", |f| set(&mut f.db, "log_statement", "all", None)),
        // KNOWN-TRAPS #1 on a 1 GB server: effective_cache_size 1GB where 75% is 768MB.
        ("pg.memory_settings", |f| {
            f.db.server_memory = Some(MemoryLimit { bytes: 1024 * MIB, source: "MemTotal".into() });
            set(&mut f.db, "shared_buffers", "32768", Some(256 * MIB as i64));
            set(&mut f.db, "effective_cache_size", "131072", Some(1024 * MIB as i64));
            set(&mut f.db, "maintenance_work_mem", "65536", Some(64 * MIB as i64));
            set(&mut f.db, "work_mem", "2048", Some(2 * MIB as i64));
        }),
        ("pg.work_mem_overcommit", |f| set(&mut f.db, "work_mem", "1048576", Some(1024 * MIB as i64))),
        ("pg.connections_near_max", |f| f.db.connections.used_of_max = 0.9),
        ("pg.idle_in_transaction", |f| {
            f.db.connections.idle_in_transaction = 2;
            f.db.connections.oldest_idle_in_transaction_seconds = Some(600.0);
        }),
        // KNOWN-TRAPS #7: slow means frequent and slow (plan + exec), not one slow call.
        ("pg.slow_statements", |f| f.db.statements.as_mut().unwrap().by_mean[0].mean_ms = 25.0),
        // KNOWN-TRAPS #6: the seq-vs-index ratio on large tables.
        ("pg.seq_scans", |f| f.db.tables[0].seq_scan = 500),
        // Autovacuum analyzes after 50 + 0.1 × 100,000 changes; twice that is left behind.
        ("pg.stale_statistics", |f| f.db.tables[0].mod_since_analyze = 20_101),
        ("pg.unused_index", |f| f.db.unused_indexes = vec![index_ref("events_kind_b", 20 * MIB as i64)]),
        ("pg.duplicate_index", |f| {
            f.db.duplicate_indexes = vec![DuplicateIndexes {
                schema: "public".into(),
                table: "events".into(),
                key: "btree (2)".into(),
                indexes: vec![index_ref("events_kind_a", 1000), index_ref("events_kind_b", 1000)],
            }]
        }),
        ("pg.vector_without_index", |f| f.db.vector.as_mut().unwrap().columns[0].indexes.clear()),
        // KNOWN-TRAPS #8: lists = 100 fixed on 50,000 rows (pgvector: 50), and probes 10 >= sqrt(100).
        ("pg.ivfflat_lists", |f| {
            let ix = &mut f.db.vector.as_mut().unwrap().columns[0].indexes[0];
            (ix.method, ix.lists) = ("ivfflat".into(), Some(500));
        }),
        ("pg.ivfflat_probes", |f| {
            let v = f.db.vector.as_mut().unwrap();
            v.ivfflat_probes = Some("1".into());
            let ix = &mut v.columns[0].indexes[0];
            (ix.method, ix.lists) = ("ivfflat".into(), Some(50));
        }),
        ("cache.low_hit_rate", |f| (f.cache.hits, f.cache.misses) = (10, 990)),
        ("cache.early_evictions", |f| f.cache.namespaces[0].evictions = 400),
        ("cache.threshold_range", |f| f.cache.defaults.similarity_threshold = 0.5),
        ("celery.backlog_growing", |f| f.queues.queues[0].net_rate_per_s = Some(3.0)),
        // KNOWN-TRAPS #9: module-style names in the default queue that no worker consumes.
        ("celery.unconsumed_queue", |f| {
            let mut q = f.queues.queues[0].clone();
            (q.name, q.depth, q.consumers) = ("celery".into(), 3, vec![]);
            q.task_names = vec![TaskCount { task: "platform.llm_tasks.generate".into(), count: 3 }];
            f.queues.queues.push(q);
        }),
        // KNOWN-TRAPS #10: a task in flight for longer than the visibility_timeout.
        ("celery.visibility_timeout", |f| {
            f.queues.in_flight.oldest_age_seconds = Some(4000.0);
            f.queues.in_flight.past_visibility_timeout = 1;
        }),
        ("celery.prefetch_long_tasks", |f| {
            let r = &mut f.queues.inspect.as_mut().unwrap().replies;
            let active = serde_json::json!([{"name": "tasks.llm", "time_start": crate::clock::now_secs() - 600.0}]);
            r.get_mut("celery@w1").unwrap().insert("active".into(), active);
        }),
        ("k8s.hpa_pinned", |f| {
            let h = &mut f.hpas.hpas[0];
            (h.current_replicas, h.desired_replicas, h.at_max_replicas, h.pinned_at_max) =
                (Some(10), Some(10), true, true);
            (h.metrics[0].current_utilization, h.metrics[0].over_target) = (Some(140.0), true);
        }),
        ("k8s.memory_limit_close", |f| f.deployments.deployments[0].memory_of_limit = Some(0.95)),
        ("k8s.requests_above_usage", |f| f.deployments.deployments[0].cpu_of_request = Some(0.1)),
    ]
}

/// Rules a failing example may also trip, because the figure it changes is read by both.
fn also_fires(rule: &str) -> &'static [&'static str] {
    match rule {
        "pg.ivfflat_lists" => &["pg.ivfflat_probes"],
        _ => &[],
    }
}

fn run(f: &Fixture, t: &Thresholds) -> (Vec<Finding>, Vec<RuleRun>) {
    evaluate(
        &Inputs {
            redis: Some(&f.redis),
            db: Some(&f.db),
            cache: Some(&f.cache),
            queues: Some(&f.queues),
            hpas: Some(&f.hpas),
            deployments: Some(&f.deployments),
            roles: f.roles,
        },
        t,
    )
}

#[test]
fn every_rule_passes_its_healthy_example_and_fails_its_broken_one() {
    let t = Thresholds::default();
    let (findings, runs) = run(&healthy(), &t);
    assert!(findings.is_empty(), "a healthy system has findings: {findings:#?}");
    assert!(runs.iter().all(|r| r.state == RuleState::Ok), "{runs:#?}");
    let breakers = breakers();
    for rule in RULES {
        let (_, brk) =
            breakers.iter().find(|(id, _)| *id == rule.id).unwrap_or_else(|| panic!("no example for {}", rule.id));
        let mut f = healthy();
        brk(&mut f);
        let (findings, _) = run(&f, &t);
        let fired: Vec<&str> = findings.iter().map(|x| x.rule.as_str()).collect();
        assert!(fired.contains(&rule.id), "{}: its failing example found nothing ({fired:?})", rule.id);
        for other in &fired {
            assert!(*other == rule.id || also_fires(rule.id).contains(other), "{}: also fired {other}", rule.id);
        }
        for x in findings.iter().filter(|x| x.rule == rule.id) {
            assert!(!x.evidence.is_empty() && !x.why.is_empty() && x.source == rule.source, "{x:#?}");
            assert!(x.id.starts_with(rule.id));
        }
    }
}

#[test]
fn without_figures_a_rule_says_so_rather_than_passing() {
    let (findings, runs) = evaluate(&Inputs::default(), &Thresholds::default());
    assert!(findings.is_empty());
    assert!(runs.iter().all(|r| r.state == RuleState::NotEnoughData && r.note.is_some()), "{runs:#?}");
}

#[test]
fn thresholds_are_overridable_and_fixes_carry_real_figures() {
    let mut f = healthy();
    f.db.unused_indexes = vec![index_ref("events_kind_b", 8192)];
    // PgHero's 10 MB floor hides a small unused index; the profile can lower it.
    assert!(run(&f, &Thresholds::default()).0.is_empty());
    let (findings, _) = run(&f, &Thresholds::with(&[("pg.unused_index.min_bytes", 0.0)]));
    assert_eq!(findings[0].id, "pg.unused_index:public.events_kind_b");
    assert_eq!(
        findings[0].fix,
        Fix::action(
            "pg.drop_index",
            &[("index", "public.events_kind_b")],
            match &findings[0].fix {
                Fix::Action { summary, .. } => summary.clone(),
                _ => unreachable!(),
            }
        )
    );

    // maxmemory 0 on a 2 GiB container: 75% of it, whole MiB.
    let mut f = healthy();
    f.redis.memory.maxmemory_bytes = 0;
    f.redis.memory.used_of_maxmemory = None;
    let (findings, _) = run(&f, &Thresholds::default());
    let Fix::Action { action, params, .. } = &findings[0].fix else { panic!() };
    assert_eq!((action.as_str(), params["value"].as_str()), ("redis.config_set", "1610612736"));

    // The trap-1 server: PGTune's 768MB for effective_cache_size, 256MB shared_buffers is right.
    let mut f = healthy();
    breakers().iter().find(|(id, _)| *id == "pg.memory_settings").unwrap().1(&mut f);
    let (findings, _) = run(&f, &Thresholds::default());
    let ids: Vec<&str> = findings.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["pg.memory_settings:effective_cache_size"]);
    let Fix::Action { params, .. } = &findings[0].fix else { panic!() };
    assert_eq!(params["value"], "768MB");
}

#[test]
fn a_server_elsewhere_is_judged_by_the_memory_the_profile_gives() {
    // Neither server is on this machine: no memory read, so nothing to judge by…
    let mut f = healthy();
    f.redis.memory.host_limit = None;
    f.redis.memory.maxmemory_bytes = 2048 * MIB;
    f.db.server_memory = None;
    // The spec's trap-1 server: shared_buffers 256MB and maintenance_work_mem 64MB fit 1 GB.
    set(&mut f.db, "shared_buffers", "32768", Some(256 * MIB as i64));
    set(&mut f.db, "maintenance_work_mem", "65536", Some(64 * MIB as i64));
    set(&mut f.db, "effective_cache_size", "1GB", Some(1024 * MIB as i64));
    let (findings, runs) = run(&f, &Thresholds::default());
    assert!(findings.is_empty(), "{findings:#?}");
    let state = |rule: &str| runs.iter().find(|r| r.rule == rule).unwrap().clone();
    assert_eq!(state("redis.maxmemory_above_limit").state, RuleState::NotEnoughData);
    assert!(state("pg.memory_settings").note.unwrap().contains("pg.server_memory_bytes"));
    // …until the profile says what they have: the spec's 512m container and 1 GB server (traps #2, #1).
    let t = Thresholds::with(&[
        ("redis.memory_limit_bytes", (512 * MIB) as f64),
        ("pg.server_memory_bytes", (1024 * MIB) as f64),
    ]);
    let (findings, _) = run(&f, &t);
    let ids: Vec<&str> = findings.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["redis.maxmemory_above_limit", "pg.memory_settings:effective_cache_size"]);
    let limit = findings[0].evidence.iter().find(|e| e.name == "memory limit").unwrap();
    assert_eq!(
        (limit.value.as_str(), limit.unit.as_deref()),
        ("512.0 MiB", Some("advisor.toml redis.memory_limit_bytes"))
    );
    let Fix::Action { params, .. } = &findings[0].fix else { panic!() };
    assert_eq!(params["value"], (384 * MIB).to_string());
    let Fix::Action { params, .. } = &findings[1].fix else { panic!() };
    assert_eq!(params["value"], "768MB");
}

#[test]
fn a_pinned_hpa_is_offered_the_replicas_its_load_asks_for() {
    let mut f = healthy();
    let h = &mut f.hpas.hpas[0];
    (h.current_replicas, h.desired_replicas, h.at_max_replicas, h.pinned_at_max) = (Some(10), Some(10), true, true);
    (h.metrics[0].current_utilization, h.metrics[0].over_target) = (Some(105.0), true);
    let (findings, _) = run(&f, &Thresholds::default());
    let pinned = findings.iter().find(|x| x.rule == "k8s.hpa_pinned").unwrap();
    match &pinned.fix {
        // ceil(10 × 105 / 70) = 15, within 2 × maxReplicas.
        Fix::Action { action, params, .. } => {
            assert_eq!(action, "k8s.patch_hpa");
            assert_eq!(params["max_replicas"], "15");
            assert_eq!(params["name"], "api");
        }
        other => panic!("{other:?}"),
    }
    // A load asking for 4× is capped at the growth threshold.
    f.hpas.hpas[0].metrics[0].current_utilization = Some(280.0);
    let (findings, _) = run(&f, &Thresholds::default());
    let Fix::Action { params, .. } = &findings.iter().find(|x| x.rule == "k8s.hpa_pinned").unwrap().fix else {
        panic!()
    };
    assert_eq!(params["max_replicas"], "20");
}

#[test]
fn a_backlog_is_offered_a_larger_pool_on_the_worker_that_consumes_it() {
    let mut f = healthy();
    f.queues.queues[0].net_rate_per_s = Some(3.0);
    let (findings, _) = run(&f, &Thresholds::default());
    let Fix::Action { action, params, .. } = &findings.iter().find(|x| x.rule == "celery.backlog_growing").unwrap().fix
    else {
        panic!()
    };
    assert_eq!(
        (action.as_str(), params["worker"].as_str(), params["processes"].as_str()),
        ("celery.pool_resize", "celery@w1", "6")
    );
    // Without the workers' answers the rule that needs them says so.
    f.queues.inspect = None;
    let (_, runs) = run(&f, &Thresholds::default());
    let unconsumed = runs.iter().find(|r| r.rule == "celery.unconsumed_queue").unwrap();
    assert_eq!(unconsumed.state, RuleState::NotEnoughData);
}

#[test]
fn a_broker_is_never_told_to_use_allkeys() {
    // noeviction on a Redis that is both cache and broker: volatile-lru, never allkeys-* (KNOWN-TRAPS #3).
    let mut f = healthy();
    f.redis.memory.maxmemory_policy = "noeviction".into();
    f.roles.celery_broker = true;
    let (findings, _) = run(&f, &Thresholds::default());
    let Fix::Action { params, .. } = &findings[0].fix else { panic!() };
    assert_eq!(params["value"], "volatile-lru");
    for x in &findings {
        if let Fix::Action { params, .. } = &x.fix {
            assert!(!params.values().any(|v| v.starts_with("allkeys")), "{x:#?}");
        }
    }
}

#[test]
fn ivfflat_lists_follow_pgvector() {
    assert_eq!(postgres::ivfflat_lists_for(100_000), 100);
    assert_eq!(postgres::ivfflat_lists_for(500), 1);
    assert_eq!(postgres::ivfflat_lists_for(4_000_000), 2000);
}

#[test]
fn every_chart_names_a_rule_and_series_the_sampler_keeps() {
    for (rule, source, metrics) in CHARTS {
        assert!(RULES.iter().any(|r| r.id == *rule), "{rule} is no rule");
        let kept = crate::history::series::metrics_of(*source);
        for m in *metrics {
            assert!(kept.iter().any(|k| k.name == *m), "{rule}: {m} is not a {} series", source.name());
        }
    }
    let mut f = healthy();
    f.redis.memory.used_of_maxmemory = Some(0.95);
    let (findings, _) = run(&f, &Thresholds::default());
    let chart = findings.iter().find(|x| x.rule == "redis.memory_near_max").unwrap().chart.clone().unwrap();
    assert_eq!((chart.source.as_str(), chart.metrics), ("redis", vec!["memory_used".to_string(), "maxmemory".into()]));
}

#[test]
fn a_process_that_served_no_lookup_does_not_call_its_evictions_ok() {
    let mut f = healthy();
    f.cache.hits = 0;
    f.cache.misses = 0;
    f.cache.evictions = 0;
    for n in &mut f.cache.namespaces {
        (n.hits, n.misses, n.evictions) = (0, 0, 0);
    }
    let (_, runs) = run(&f, &Thresholds::default());
    let early = runs.iter().find(|r| r.rule == "cache.early_evictions").unwrap();
    assert_eq!(early.state, RuleState::NotEnoughData);
    assert!(early.note.as_deref().unwrap().contains("where the cache serves"), "{early:?}");
}
