//! The cache engine under bad input: hostile TTLs, texts longer than the model reads, scope fields,
//! ambiguous conversation hashes, settings across restarts. Each test failed on the engine before
//! its fix (docs/reliability/engine.md).

use simba_core::engine::cache::conversation::Message;
use simba_core::engine::cache::types::{CacheEntry, CacheSettings, Lookup, Namespace, Partition, Scope};
use simba_core::engine::cache::SemanticCache;
use simba_core::engine::store::indexed::{IndexThresholds, IndexedStore};
use simba_core::engine::store::postgres::PostgresStore;
use simba_core::engine::store::redis::{follow, open_store, RedisPersistence, RedisSearch};
use simba_core::engine::store::sqlite::SqlitePersistence;
use simba_core::engine::store::{CacheStore, Invalidation};
use simba_core::profiles::{ResolvedProfile, Service};
use simba_core::ErrorCode;
use std::sync::Arc;

mod common;
use common::model;

async fn embedded_store(path: &std::path::Path) -> Arc<dyn CacheStore> {
    let persist = SqlitePersistence::open(path).await.unwrap();
    Arc::new(IndexedStore::open(persist, model().dims()).await.unwrap())
}

async fn embedded_cache(dir: &tempfile::TempDir) -> SemanticCache {
    SemanticCache::new(model(), embedded_store(&dir.path().join("cache.db")).await)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `simba-tuner cache store --ttl 18446744073709551615` stored the entry already expired (the TTL
/// wrapped negative); now any TTL over the ten-year maximum is refused and nothing is stored.
#[tokio::test]
async fn ttl_above_the_maximum_is_refused_not_stored_expired() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let u = Scope::user("ttl");
    let ten_years = 10 * 365 * 86_400u64;
    for ttl in [u64::MAX, 1 << 62, i64::MAX as u64, ten_years + 1] {
        let err = cache.update_cache("revenue by region", "r", &u, Some(ttl)).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "ttl {ttl}: {err:?}");
        assert!(err.message.contains("ten years"), "ttl {ttl}: {}", err.message);
    }
    assert_eq!(cache.stats().await.unwrap().entries, 0, "a refused TTL stored nothing");
    // The maximum itself is taken, and the entry is live and served.
    let id = cache.update_cache("revenue by region", "r", &u, Some(ten_years)).await.unwrap();
    let listed = cache.entries(&cache.partition(&u).namespace.id(), 0, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    let expires = listed[0].expires_at_ms.unwrap();
    assert!(expires > now() + 9 * 365 * 86_400_000, "{expires}");
    assert!(cache.check_get_cache("revenue by region", &u).await.unwrap().is_hit());
}

/// Scope fields are checked like the query: a clear error naming the field, never stored.
#[tokio::test]
async fn scope_fields_are_validated_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    let long = "u".repeat(300);
    let bad: Vec<(Scope, &str)> = vec![
        (Scope::user(""), "user is empty"),
        (Scope::user("   "), "user is empty"),
        (Scope::user("al\0ice"), "NUL"),
        (Scope::user("al\nice"), "control character"),
        (Scope::user(long.as_str()), "at most 256 bytes"),
        (Scope::user("alice").with_item(""), "item is empty"),
        (Scope::user("alice").with_item("crm\u{7}"), "control character"),
        (Scope { tenant: String::new(), ..Scope::user("alice") }, "tenant is empty"),
        (Scope::user("alice").with_conversation(vec![Message::user("hi\0")]), "NUL"),
        (Scope::user("alice").with_conversation(vec![Message::user("x"); 1001]), "at most 1000"),
        (Scope::user("alice").with_conversation(vec![Message::user("x".repeat(20_000))]), "bytes a turn"),
    ];
    for (scope, says) in &bad {
        let err = cache.update_cache("revenue by region", "r", scope, None).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{scope:?}");
        assert!(err.message.contains(says), "{scope:?}: {}", err.message);
        let err = cache.check_get_cache("revenue by region", scope).await.unwrap_err();
        assert!(err.message.contains(says), "{scope:?}: {}", err.message);
        assert!(cache.search(scope, "revenue", 3).await.is_err());
    }
    assert_eq!(cache.stats().await.unwrap().entries, 0);
    // Ordinary text, unicode and a conversation with newlines are fine.
    let good =
        Scope::user("Zoë Müller").with_item("crm-2").with_conversation(vec![Message::user("line one\nline two")]);
    cache.update_cache("revenue by region", "r", &good, None).await.unwrap();
    assert!(cache.check_get_cache("revenue by region", &good).await.unwrap().is_hit());
}

fn unit(seed: u64, dims: usize) -> Vec<f32> {
    common::unit_vector(seed, dims)
}

fn part(item: Option<&str>) -> Partition {
    Partition {
        namespace: Namespace {
            tenant: "t1".into(),
            user: "ivy".into(),
            item: item.map(String::from),
            model: "m".into(),
            template_version: "v1".into(),
        },
    }
}

fn entry(id: u64, p: &Partition, dims: usize) -> CacheEntry {
    let now = now();
    CacheEntry {
        id,
        partition: p.clone(),
        context: vec![],
        background: vec![],
        query: format!("query {id}"),
        response: format!("response {id}"),
        embedding: unit(7, dims),
        created_at_ms: now,
        expires_at_ms: Some(now + 3_600_000),
        last_hit_at_ms: now,
        hits: 0,
    }
}

/// "No item" and an empty item are two partitions in the embedded store; the Redis stores wrote
/// both as an empty field and read them back as "no item", so an entry stored for one was served
/// (in-process search) or lost (vector sets) for the other.
async fn keeps_no_item_and_empty_item_apart(
    store: Arc<dyn CacheStore>,
    reopen: impl std::future::Future<Output = Arc<dyn CacheStore>>,
) {
    let dims = 384;
    let (none, empty) = (part(None), part(Some("")));
    store.insert(entry(1, &none, dims)).await.unwrap();
    store.insert(entry(2, &empty, dims)).await.unwrap();
    let n = now();
    let ids = |found: Vec<(CacheEntry, f32)>| found.iter().map(|(e, _)| e.id).collect::<Vec<_>>();
    assert_eq!(ids(store.search(&none, &unit(7, dims), 5, n).await.unwrap()), vec![1], "{}", store.describe());
    assert_eq!(ids(store.search(&empty, &unit(7, dims), 5, n).await.unwrap()), vec![2], "{}", store.describe());
    assert_eq!(store.get(2).await.unwrap().unwrap().partition, empty);
    let reopened = reopen.await;
    assert_eq!(ids(reopened.search(&none, &unit(7, dims), 5, n).await.unwrap()), vec![1]);
    assert_eq!(ids(reopened.search(&empty, &unit(7, dims), 5, n).await.unwrap()), vec![2]);
    let mut usage: Vec<Option<String>> =
        reopened.namespaces().await.unwrap().into_iter().map(|u| u.namespace.item).collect();
    usage.sort();
    assert_eq!(usage, vec![None, Some(String::new())]);
}

async fn redis_in_process(url: &str) -> Arc<dyn CacheStore> {
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, url)]).unwrap();
    let persist = RedisPersistence::open(profile.endpoint(Service::Redis).unwrap(), "simba:sc:").await.unwrap();
    let store = Arc::new(IndexedStore::open(persist, 384).await.unwrap());
    follow(&store);
    store
}

#[tokio::test]
async fn redis_stores_keep_no_item_and_empty_item_apart() {
    let server = simba_testkit::RedisServer::start().unwrap();
    let url = server.url();
    keeps_no_item_and_empty_item_apart(redis_in_process(&url).await, redis_in_process(&url)).await;

    let server8 = simba_testkit::RedisServer::start_redis8().unwrap_or_else(|e| panic!("needs Redis 8: {e}"));
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, server8.url().as_str())]).unwrap();
    let endpoint = profile.endpoint(Service::Redis).unwrap();
    let vset = open_store(endpoint, "simba:sc:", 384, RedisSearch::Auto).await.unwrap();
    assert!(vset.describe().contains("VSIM"));
    keeps_no_item_and_empty_item_apart(vset, async {
        open_store(endpoint, "simba:sc:", 384, RedisSearch::Auto).await.unwrap()
    })
    .await;
}

/// The local model reads 256 word pieces: two long questions that differ only after that got the
/// same vector (similarity 1.0) and were served each other's answers.
#[tokio::test]
async fn long_questions_sharing_a_prefix_are_never_a_hit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = embedded_cache(&dir).await;
    // The answer must not depend on the candidate checks (which a namespace may turn off, and
    // which here would only catch the differing years by luck).
    let unchecked = CacheSettings { verify_candidates: false, ..CacheSettings::default() };
    cache.set_settings(None, unchecked).await.unwrap();
    let u = Scope::user("long");
    let prefix = "Given the quarterly sales figures for every region, product line and channel, ".repeat(25);
    let a = format!("{prefix} what was the total revenue in 2023?");
    let b = format!("{prefix} how many employees left the company in 2019?");
    assert_eq!(model().embed(&a).unwrap(), model().embed(&b).unwrap(), "the model reads only the shared prefix");
    let stored = cache.update_cache(&a, "answer A", &u, None).await;
    let lookup = cache.check_get_cache(&b, &u).await;
    match (&stored, &lookup) {
        (_, Ok(Lookup::Hit { .. })) => panic!("served another question's answer: {lookup:?}"),
        (Err(e), _) => assert!(e.message.contains("longer than"), "{}", e.message),
        (Ok(_), Ok(Lookup::Miss { reason, .. })) => assert!(reason.contains("longer than"), "{reason}"),
        (Ok(_), Err(e)) => assert!(e.message.contains("longer than"), "{}", e.message),
    }
    if let Ok(Lookup::Miss { reason, .. }) = &lookup {
        assert!(reason.contains("longer than"), "{reason}");
    }
    // Even the same long text is not served: its answer could belong to any text with its prefix.
    assert!(!cache.check_get_cache(&a, &u).await.map(|l| l.is_hit()).unwrap_or(false));
    // A short question still hits.
    cache.update_cache("total revenue in 2023", "R", &u, None).await.unwrap();
    assert!(cache.check_get_cache("total revenue in 2023", &u).await.unwrap().is_hit());
}

/// Per-namespace settings (threshold, TTL, cap, judge) outlive the process on every store.
async fn settings_survive_a_restart(
    open: impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn CacheStore>>>>,
) {
    let ns = "t1/nora/*/m/v1";
    let custom = CacheSettings {
        similarity_threshold: 0.91,
        max_entries: 42,
        ttl_seconds: 120,
        refresh_ttl_on_hit: true,
        shadow_mode: true,
        verify_candidates: false,
        judge_min_score: 0.7,
        judge_floor: 0.6,
    };
    let defaults = CacheSettings { similarity_threshold: 0.85, ..CacheSettings::default() };
    {
        let cache = SemanticCache::new(model(), open().await);
        cache.set_settings(Some(ns), custom.clone()).await.unwrap();
        cache.set_settings(None, defaults.clone()).await.unwrap();
    }
    let cache = SemanticCache::new(model(), open().await);
    cache.load_settings().await.unwrap();
    assert_eq!(cache.settings_for(ns), custom);
    assert_eq!(cache.settings_for("t1/other/*/m/v1"), defaults);
}

#[tokio::test]
async fn per_namespace_settings_persist_on_every_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    settings_survive_a_restart(|| {
        let path = path.clone();
        Box::pin(async move { embedded_store(&path).await })
    })
    .await;

    let server = simba_testkit::RedisServer::start().unwrap();
    let url = server.url();
    settings_survive_a_restart(|| {
        let url = url.clone();
        Box::pin(async move { redis_in_process(&url).await })
    })
    .await;

    let server8 = simba_testkit::RedisServer::start_redis8().unwrap_or_else(|e| panic!("needs Redis 8: {e}"));
    let url8 = server8.url();
    settings_survive_a_restart(|| {
        let url = url8.clone();
        Box::pin(async move {
            let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, url.as_str())]).unwrap();
            open_store(profile.endpoint(Service::Redis).unwrap(), "simba:sc:", 384, RedisSearch::Auto).await.unwrap()
        })
    })
    .await;

    let pg = simba_testkit::PostgresServer::start().unwrap();
    let pg_url = pg.url();
    settings_survive_a_restart(|| {
        let url = pg_url.clone();
        Box::pin(async move { Arc::new(PostgresStore::open(&url, 384, 2).await.unwrap()) as Arc<dyn CacheStore> })
    })
    .await;
}

fn entry_with(id: u64, p: &Partition, seed: u64) -> CacheEntry {
    CacheEntry { embedding: unit(seed, 384), ..entry(id, p, 384) }
}

fn user_part(user: &str) -> Partition {
    let mut p = part(None);
    p.namespace.user = user.into();
    p
}

/// A partition passing the exact-scan limit used to build its HNSW graph inside `insert`, under
/// the store's lock and on an async thread: every lookup of every user waited for it. Now the
/// build runs on the blocking pool and is swapped in when done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_go_on_while_a_large_graph_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let persist = SqlitePersistence::open(&dir.path().join("cache.db")).await.unwrap();
    let limit = 12_000;
    let thresholds = IndexThresholds { hnsw_above: limit, exact_below: 1_000 };
    let store = Arc::new(IndexedStore::open_with(persist, 384, thresholds).await.unwrap());
    let (big, small) = (user_part("big"), user_part("small"));
    store.insert(entry_with(1, &small, 1)).await.unwrap();
    // Fill the big partition up to the limit without a file write each (as the change feed does).
    for i in 0..limit as u64 {
        store.apply_remote_put(entry_with(1_000 + i, &big, 1_000 + i)).unwrap();
    }
    assert_eq!(store.index_kinds().get("hnsw"), None);
    let started = std::time::Instant::now();
    store.insert(entry_with(500_000, &big, 500_000)).await.unwrap();
    let insert_took = started.elapsed();
    assert_eq!(store.graph_builds_running(), 1, "the graph is built in the background");
    let n = now();
    let (mut during, mut worst) = (0, std::time::Duration::ZERO);
    let mut changed_meanwhile = false;
    while store.graph_builds_running() > 0 {
        let t = std::time::Instant::now();
        assert_eq!(store.search(&small, &unit(1, 384), 1, n).await.unwrap()[0].0.id, 1);
        assert_eq!(store.search(&big, &unit(1_007, 384), 1, n).await.unwrap()[0].0.id, 1_007);
        worst = worst.max(t.elapsed());
        during += 1;
        if !changed_meanwhile {
            // Changes while the graph is built reach it before it is swapped in.
            store.insert(entry_with(600_000, &big, 600_000)).await.unwrap();
            assert_eq!(store.invalidate(&Invalidation::Entry { id: 1_005 }).await.unwrap(), 1);
            changed_meanwhile = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert!(during > 0 && changed_meanwhile, "no lookup ran during the build");
    assert!(worst < std::time::Duration::from_millis(500), "a lookup waited {worst:?} during the build");
    assert!(insert_took < std::time::Duration::from_millis(500), "the insert waited {insert_took:?} for the build");
    assert_eq!(store.index_kinds().get("hnsw"), Some(&1));
    let found = |probe: u64| {
        let store = store.clone();
        let big = big.clone();
        async move { store.search(&big, &unit(probe, 384), 1, n).await.unwrap().first().map(|(e, _)| e.id) }
    };
    assert_eq!(found(600_000).await, Some(600_000));
    assert_eq!(found(500_000).await, Some(500_000));
    assert_eq!(found(3_000).await, Some(3_000));
    assert_ne!(found(1_005).await, Some(1_005), "an entry removed during the build came back");
    assert_eq!(store.len(), limit + 2);
}

/// A short Redis stall (every client paused longer than the feed's read deadline) used to make
/// each instance reload the whole cache at once; now it reconnects and reads on from where it was.
#[tokio::test]
async fn a_short_redis_stall_resumes_the_feed_without_a_reload() {
    let server = simba_testkit::RedisServer::start().unwrap();
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, server.url().as_str())]).unwrap();
    let open = || async {
        let persist = RedisPersistence::open(profile.endpoint(Service::Redis).unwrap(), "simba:sc:").await.unwrap();
        let store = Arc::new(IndexedStore::open(persist, 384).await.unwrap());
        follow(&store);
        store
    };
    let (one, two) = (open().await, open().await);
    let p = user_part("stall");
    one.insert(entry_with(1, &p, 1)).await.unwrap();
    assert!(eventually(|| async { two.len() == 1 }).await);
    // Pause every client for longer than the feed's read deadline (4 s).
    let client = redis::Client::open(server.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(6_000).arg("ALL").query_async(&mut admin).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(6_500)).await;
    one.insert(entry_with(2, &p, 2)).await.unwrap();
    assert_eq!(one.invalidate(&Invalidation::Entry { id: 1 }).await.unwrap(), 1);
    assert!(
        eventually_for(30, || async { two.len() == 1 && two.get(2).await.unwrap().is_some() }).await,
        "instance two did not catch up after the stall: {} entries",
        two.len()
    );
    assert_eq!(two.reloads(), 0, "a short stall made the instance reload everything");
}

async fn eventually<F, Fut>(check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_for(5, check).await
}

async fn eventually_for<F, Fut>(seconds: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..seconds * 20 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// A PostgreSQL server that stops answering (here: a proxy that swallows the traffic) is an error
/// within the deadline that names the server and what to do, whether the stall shows while the pool
/// checks a connection or in the middle of the query (which had no deadline before).
#[tokio::test]
async fn a_stalled_postgres_call_times_out_with_a_clear_error() {
    let pg = simba_testkit::PostgresServer::start().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (pg_port, flag) = (pg.port(), stalled.clone());
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let flag = flag.clone();
            tokio::spawn(async move {
                let outbound = tokio::net::TcpStream::connect(("127.0.0.1", pg_port)).await.unwrap();
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::join!(pump(ri, wo, flag.clone()), pump(ro, wi, flag));
            });
        }
    });
    let url = pg.url().replace(&format!(":{pg_port}/"), &format!(":{proxy_port}/"));
    assert_ne!(url, pg.url(), "the test must go through the proxy");
    let store = PostgresStore::open(&url, 384, 2).await.unwrap();
    let p = user_part("pg");
    store.insert(entry_with(1, &p, 1)).await.unwrap();
    stalled.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(std::time::Duration::from_secs(30), store.search(&p, &unit(1, 384), 1, now()))
        .await
        .expect("the call hung: no client-side deadline")
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    let message = err.to_string();
    // The pool pings a connection before handing it out, so the stall shows there or in the query.
    assert!(message.contains("PostgreSQL at 127.0.0.1"), "{message}");
    assert!(message.contains("did not answer within") || message.contains("gave no connection within"), "{message}");
    let err = tokio::time::timeout(std::time::Duration::from_secs(30), store.save_settings("x", "{}"))
        .await
        .expect("the call hung")
        .unwrap_err();
    assert!(err.to_string().contains("PostgreSQL at 127.0.0.1"), "{err}");
}

/// Copies bytes from one side to the other, or swallows them while `stalled` is set.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalled: Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        if stalled.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
