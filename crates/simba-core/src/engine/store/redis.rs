//! The Redis backend: each entry is a hash with Redis's own TTL (PEXPIREAT), so Redis expires and,
//! under `maxmemory` (a `volatile-*` policy), evicts entries itself and accounts for their memory.
//! How entries are searched is chosen at connect by [`open_store`]:
//!
//! - **Server-side (Redis 8 vector sets)** when the server has `VSIM`: [`super::redis_vset`] keeps
//!   one vector set per partition (`VADD key FP32 <blob> <id> Q8`, `VSIM key FP32 <blob> COUNT n EF
//!   ef`, `VREM` on delete/evict/expiry), re-scores the candidates exactly from the hash's vector and
//!   keeps nothing in process: several app instances are consistent because the server holds the
//!   index.
//! - **In-process** otherwise (Redis 7, RediSearch-only servers — FT.SEARCH is detected but not
//!   used), or when `SIMBA_REDIS_SEARCH=in-process` forces it for comparison: [`IndexedStore`] over
//!   [`RedisPersistence`]. To stay consistent across several app instances on the same Redis, every
//!   change is also appended to a stream (`<prefix>feed`) in the same MULTI as the change itself;
//!   [`follow`] tails that stream and applies what other instances did. An instance that fell
//!   behind further than the stream keeps (or lost its connection) reloads everything. Entries Redis
//!   expired or evicted on its own are noticed on the hit: `touch` finds the key gone and the hit is
//!   not served.
//!
//! Both paths write the same entry hashes (`<prefix>e:<id>`); a vector-set instance indexes, at
//! open, entries an in-process instance wrote. Instances on one prefix should use one path at a
//! time (the automatic choice does, as they see the same server): the in-process path does not
//! maintain the vector sets and the vector-set path does not write the change feed.
//! [`CacheStore::describe`] says which search is in use (shown with the cache's figures).

use super::indexed::{IndexedStore, Persistence};
use super::redis_vset::RedisVsetStore;
use super::sqlite::{blob_to_vector, vector_to_blob};
use super::{CacheStore, StoreError, StoreResult};
use crate::engine::cache::types::{context_from_text, context_to_text, CacheEntry, Namespace, Partition};
use crate::profiles::Endpoint;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Every Redis call gives up after this long: a dead server is a miss, not a hang.
pub(super) const OP_TIMEOUT: Duration = Duration::from_secs(3);
/// How many change events the feed keeps (approximately): an instance further behind reloads.
const FEED_MAXLEN: usize = 100_000;

pub struct RedisPersistence {
    conn: ConnectionManager,
    client: redis::Client,
    display: String,
    prefix: String,
    /// Identifies this instance's own events in the feed.
    instance: String,
    /// The feed position `load_all` read up to; [`follow`] starts there.
    feed_position: parking_lot::Mutex<String>,
    server_search: Option<&'static str>,
    /// In-process search although the server has vector sets (`SIMBA_REDIS_SEARCH=in-process`).
    forced_in_process: bool,
}

/// What [`server_vector_search`] reports for Redis 8 vector sets.
pub const VECTOR_SETS: &str = "vector sets (VSIM)";
/// What [`server_vector_search`] reports for RediSearch.
pub const REDISEARCH: &str = "RediSearch (FT.SEARCH)";

/// Which search the Redis backend uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisSearch {
    /// Vector sets when the server has VSIM, else the in-process index.
    Auto,
    /// Always the in-process index (for comparison).
    InProcess,
}

impl RedisSearch {
    /// From `SIMBA_REDIS_SEARCH`: unset or `auto`, or `in-process`.
    pub fn from_env() -> StoreResult<Self> {
        match std::env::var("SIMBA_REDIS_SEARCH").ok().as_deref().map(str::trim) {
            None | Some("") | Some("auto") => Ok(Self::Auto),
            Some("in-process") | Some("in_process") => Ok(Self::InProcess),
            Some(other) => {
                Err(StoreError::Invalid(format!("SIMBA_REDIS_SEARCH={other:?}: use `auto` or `in-process`")))
            }
        }
    }
}

/// Connects and picks the search path (see the module docs): vector sets when the server has VSIM
/// and `mode` allows, else the in-process index kept in step by the change feed (its follower task
/// is started here).
pub async fn open_store(
    endpoint: &Endpoint,
    prefix: &str,
    dims: usize,
    mode: RedisSearch,
) -> StoreResult<Arc<dyn CacheStore>> {
    let (client, mut conn, display) = connect(endpoint).await?;
    let server_search = server_vector_search(&mut conn).await;
    if server_search == Some(VECTOR_SETS) && mode == RedisSearch::Auto {
        return Ok(Arc::new(RedisVsetStore::open(conn, display, prefix, dims).await?));
    }
    let mut persist = RedisPersistence::from_connection(client, conn, display, prefix, server_search);
    persist.forced_in_process = server_search == Some(VECTOR_SETS);
    let store = Arc::new(IndexedStore::open(persist, dims).await?);
    follow(&store);
    Ok(store)
}

async fn connect(endpoint: &Endpoint) -> StoreResult<(redis::Client, ConnectionManager, String)> {
    let display = endpoint.display.clone();
    let client = redis::Client::open(endpoint.url.expose())
        .map_err(|e| StoreError::Unavailable(format!("Redis URL {display} is not usable: {:?}", e.kind())))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(OP_TIMEOUT)
        .set_response_timeout(OP_TIMEOUT)
        .set_number_of_retries(1);
    let conn = tokio::time::timeout(OP_TIMEOUT, ConnectionManager::new_with_config(client.clone(), config))
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!("cannot reach Redis at {display}: no answer within {OP_TIMEOUT:?}"))
        })?
        .map_err(|e| unavailable(&display, e))?;
    Ok((client, conn, display))
}

pub(super) fn unavailable(display: &str, e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(crate::sources::redis::redis_error(display, &e).message)
}

impl RedisPersistence {
    /// The in-process path's persistence (whatever the server offers).
    pub async fn open(endpoint: &Endpoint, prefix: &str) -> StoreResult<Self> {
        let (client, mut conn, display) = connect(endpoint).await?;
        let server_search = server_vector_search(&mut conn).await;
        Ok(Self::from_connection(client, conn, display, prefix, server_search))
    }

    fn from_connection(
        client: redis::Client,
        conn: ConnectionManager,
        display: String,
        prefix: &str,
        server_search: Option<&'static str>,
    ) -> Self {
        Self {
            conn,
            client,
            display,
            prefix: prefix.to_string(),
            instance: format!("{:016x}", rand::random::<u64>()),
            feed_position: parking_lot::Mutex::new("0-0".into()),
            server_search,
            forced_in_process: false,
        }
    }

    fn key(&self, id: u64) -> String {
        format!("{}e:{id}", self.prefix)
    }

    fn feed_key(&self) -> String {
        format!("{}feed", self.prefix)
    }

    /// "vector sets (VSIM)", "RediSearch (FT.SEARCH)" or None.
    pub fn server_search(&self) -> Option<&'static str> {
        self.server_search
    }

    async fn run<T, F>(&self, what: F) -> StoreResult<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(OP_TIMEOUT, what).await {
            Ok(r) => r.map_err(|e| unavailable(&self.display, e)),
            Err(_) => {
                Err(StoreError::Unavailable(format!("Redis at {} did not answer within {OP_TIMEOUT:?}", self.display)))
            }
        }
    }

    async fn read_entries(&self, keys: &[String]) -> StoreResult<Vec<CacheEntry>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let mut pipe = redis::pipe();
            for k in chunk {
                pipe.cmd("HGETALL").arg(k);
            }
            let mut conn = self.conn.clone();
            let maps: Vec<HashMap<String, Vec<u8>>> = self.run(pipe.query_async(&mut conn)).await?;
            for (k, map) in chunk.iter().zip(maps) {
                if map.is_empty() {
                    continue; // expired between SCAN and HGETALL
                }
                match decode(&map) {
                    Some(e) => out.push(e),
                    None => tracing::warn!(key = %k, "skipping a Redis cache entry with missing or malformed fields"),
                }
            }
        }
        Ok(out)
    }

    async fn current_feed_position(&self) -> StoreResult<String> {
        let mut conn = self.conn.clone();
        let last: redis::Value = self
            .run(
                redis::cmd("XREVRANGE")
                    .arg(self.feed_key())
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(first_stream_id(&last).unwrap_or_else(|| "0-0".into()))
    }
}

/// Which server-side vector search the server offers, if any.
pub async fn server_vector_search(conn: &mut ConnectionManager) -> Option<&'static str> {
    let vsim: redis::RedisResult<redis::Value> = redis::cmd("COMMAND").arg("INFO").arg("VSIM").query_async(conn).await;
    if matches!(&vsim, Ok(redis::Value::Array(items)) if items.iter().any(|v| !matches!(v, redis::Value::Nil))) {
        return Some(VECTOR_SETS);
    }
    let modules: redis::RedisResult<redis::Value> = redis::cmd("MODULE").arg("LIST").query_async(conn).await;
    if let Ok(v) = modules {
        if format!("{v:?}").to_ascii_lowercase().contains("search") {
            return Some(REDISEARCH);
        }
    }
    None
}

fn first_stream_id(v: &redis::Value) -> Option<String> {
    let redis::Value::Array(items) = v else { return None };
    let redis::Value::Array(entry) = items.first()? else { return None };
    match entry.first()? {
        redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        redis::Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn field<'a>(map: &'a HashMap<String, Vec<u8>>, name: &str) -> Option<&'a [u8]> {
    map.get(name).map(|v| v.as_slice())
}

fn text(map: &HashMap<String, Vec<u8>>, name: &str) -> Option<String> {
    String::from_utf8(field(map, name)?.to_vec()).ok()
}

fn number(map: &HashMap<String, Vec<u8>>, name: &str) -> Option<i64> {
    text(map, name)?.parse().ok()
}

/// The hash fields that say whether an entry has an item: "no item" and an empty item are two
/// partitions (as in the other stores), so presence is written apart from the text.
/// Per-namespace settings live in one hash, `<prefix>settings`, on both Redis stores.
pub(super) fn save_settings_cmd(prefix: &str, key: &str, json: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(format!("{prefix}settings")).arg(key).arg(json);
    cmd
}

pub(super) fn load_settings_cmd(prefix: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("HGETALL");
    cmd.arg(format!("{prefix}settings"));
    cmd
}

pub(super) fn item_fields(item: &Option<String>) -> [(&'static str, Vec<u8>); 2] {
    [
        ("item", item.clone().unwrap_or_default().into_bytes()),
        ("has_item", if item.is_some() { b"1".to_vec() } else { b"0".to_vec() }),
    ]
}

pub(super) fn decode(map: &HashMap<String, Vec<u8>>) -> Option<CacheEntry> {
    let item = match field(map, "has_item") {
        Some(b"1") => Some(text(map, "item")?),
        Some(_) => None,
        // Written before `has_item`: an empty item then meant none.
        None => text(map, "item").filter(|s| !s.is_empty()),
    };
    let (context, background) = context_from_text(&text(map, "context")?);
    Some(CacheEntry {
        id: text(map, "id")?.parse().ok()?,
        partition: Partition {
            namespace: Namespace {
                tenant: text(map, "tenant")?,
                user: text(map, "user")?,
                item,
                model: text(map, "model")?,
                template_version: text(map, "template_version")?,
            },
        },
        context,
        background,
        query: text(map, "query")?,
        response: text(map, "response")?,
        embedding: blob_to_vector(field(map, "embedding")?),
        created_at_ms: number(map, "created_at_ms")?,
        expires_at_ms: number(map, "expires_at_ms").filter(|v| *v > 0),
        last_hit_at_ms: number(map, "last_hit_at_ms")?,
        hits: number(map, "hits")? as u64,
    })
}

#[async_trait]
impl Persistence for RedisPersistence {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn describe(&self) -> String {
        let base = format!("Redis at {}: entries as hashes with Redis's own TTL, searched with an in-process vector index kept in step across instances by a change feed", self.display);
        match self.server_search {
            Some(found) if self.forced_in_process => {
                format!("{base} (forced by SIMBA_REDIS_SEARCH; the server's {found} is not used)")
            }
            Some(found) => format!("{base} (the server offers {found}, which this store does not use)"),
            None => format!("{base} (the server has no vector search)"),
        }
    }

    async fn load_all(&self) -> StoreResult<Vec<CacheEntry>> {
        // The feed position first: changes made while we scan are replayed by `follow` (idempotent).
        let position = self.current_feed_position().await?;
        let mut conn = self.conn.clone();
        let mut keys = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{}e:*", self.prefix))
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn),
                )
                .await?;
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let entries = self.read_entries(&keys).await?;
        *self.feed_position.lock() = position;
        Ok(entries)
    }

    async fn put(&self, e: &CacheEntry) -> StoreResult<()> {
        let ns = &e.partition.namespace;
        let key = self.key(e.id);
        let [item, has_item] = item_fields(&ns.item);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .hset_multiple(
                &key,
                &[
                    ("id", e.id.to_string().into_bytes()),
                    ("tenant", ns.tenant.clone().into_bytes()),
                    ("user", ns.user.clone().into_bytes()),
                    item,
                    has_item,
                    ("model", ns.model.clone().into_bytes()),
                    ("template_version", ns.template_version.clone().into_bytes()),
                    ("context", context_to_text(&e.context, &e.background).into_bytes()),
                    ("query", e.query.clone().into_bytes()),
                    ("response", e.response.clone().into_bytes()),
                    ("embedding", vector_to_blob(&e.embedding)),
                    ("created_at_ms", e.created_at_ms.to_string().into_bytes()),
                    ("expires_at_ms", e.expires_at_ms.unwrap_or(0).to_string().into_bytes()),
                    ("last_hit_at_ms", e.last_hit_at_ms.to_string().into_bytes()),
                    ("hits", e.hits.to_string().into_bytes()),
                ],
            )
            .ignore();
        if let Some(at) = e.expires_at_ms {
            pipe.cmd("PEXPIREAT").arg(&key).arg(at).ignore();
        }
        pipe.cmd("XADD")
            .arg(self.feed_key())
            .arg("MAXLEN")
            .arg("~")
            .arg(FEED_MAXLEN)
            .arg("*")
            .arg("op")
            .arg("put")
            .arg("id")
            .arg(e.id)
            .arg("src")
            .arg(&self.instance)
            .ignore();
        let mut conn = self.conn.clone();
        self.run(pipe.query_async::<()>(&mut conn)).await
    }

    async fn delete(&self, ids: &[u64]) -> StoreResult<()> {
        for chunk in ids.chunks(1000) {
            let keys: Vec<String> = chunk.iter().map(|id| self.key(*id)).collect();
            let joined = chunk.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",");
            let mut pipe = redis::pipe();
            pipe.atomic().del(keys).ignore();
            pipe.cmd("XADD")
                .arg(self.feed_key())
                .arg("MAXLEN")
                .arg("~")
                .arg(FEED_MAXLEN)
                .arg("*")
                .arg("op")
                .arg("del")
                .arg("id")
                .arg(joined)
                .arg("src")
                .arg(&self.instance)
                .ignore();
            let mut conn = self.conn.clone();
            self.run(pipe.query_async::<()>(&mut conn)).await?;
        }
        Ok(())
    }

    async fn save_settings(&self, key: &str, json: &str) -> StoreResult<()> {
        let mut conn = self.conn.clone();
        self.run(save_settings_cmd(&self.prefix, key, json).query_async(&mut conn)).await
    }

    async fn load_settings(&self) -> StoreResult<Vec<(String, String)>> {
        let mut conn = self.conn.clone();
        let all: HashMap<String, String> = self.run(load_settings_cmd(&self.prefix).query_async(&mut conn)).await?;
        Ok(all.into_iter().collect())
    }

    async fn touch(&self, id: u64, last_hit_at_ms: i64, hits: u64, expires_at_ms: Option<i64>) -> StoreResult<bool> {
        // One script, so a key that expires meanwhile is never re-created as a stub.
        let script = redis::Script::new(
            r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
              redis.call('HSET', KEYS[1], 'last_hit_at_ms', ARGV[1], 'hits', ARGV[2], 'expires_at_ms', ARGV[3])
              if tonumber(ARGV[3]) > 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
              redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'op', 'hit', 'id', ARGV[4], 'src', ARGV[5])
              return 1",
        );
        let mut conn = self.conn.clone();
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key(id))
            .key(self.feed_key())
            .arg(last_hit_at_ms)
            .arg(hits)
            .arg(expires_at_ms.unwrap_or(0))
            .arg(id)
            .arg(&self.instance)
            .arg(FEED_MAXLEN);
        let found: i64 = self.run(invocation.invoke_async(&mut conn)).await?;
        Ok(found == 1)
    }
}

/// How long to wait before the `attempt`-th retry (from 0): doubling from half a second up to 30 s,
/// each drawn between half and all of that. Many app instances that lost Redis in the same stall
/// then come back spread out instead of all at once.
fn backoff(attempt: u32) -> Duration {
    let ceiling = Duration::from_millis(500).saturating_mul(1u32 << attempt.min(6)).min(Duration::from_secs(30));
    ceiling.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// Tails the change feed and applies other instances' changes to `store` until the store is
/// dropped. After a lost connection or a stall it reconnects with backoff and jitter and goes on
/// from where it was (the feed keeps the events it missed); only when the feed was trimmed past
/// that point does it reload everything, after a random delay so instances do not all reload at
/// once.
pub fn follow(store: &Arc<IndexedStore<RedisPersistence>>) -> tokio::task::JoinHandle<()> {
    let weak: Weak<IndexedStore<RedisPersistence>> = Arc::downgrade(store);
    let client = store.persistence().client.clone();
    tokio::spawn(async move {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut needs_reload = false;
        // After a reconnect: whether the feed still holds what we missed.
        let mut check_feed = false;
        let mut failures: u32 = 0;
        loop {
            if failures > 0 {
                tokio::time::sleep(backoff(failures - 1)).await;
            }
            let Some(store) = weak.upgrade() else { return };
            let p = store.persistence();
            if conn.is_none() {
                match tokio::time::timeout(OP_TIMEOUT, client.get_multiplexed_async_connection()).await {
                    Ok(Ok(c)) => {
                        conn = Some(c);
                        check_feed = true;
                    }
                    _ => {
                        failures = failures.saturating_add(1);
                        continue;
                    }
                }
            }
            let c = conn.as_mut().expect("connected above");
            if check_feed {
                let position = p.feed_position.lock().clone();
                match feed_was_trimmed_past(c, &p.feed_key(), &position).await {
                    Ok(trimmed) => {
                        needs_reload |= trimmed;
                        check_feed = false;
                    }
                    Err(_) => {
                        conn = None;
                        failures = failures.saturating_add(1);
                        continue;
                    }
                }
            }
            if needs_reload {
                // Spread the instances that lost the same events over a few seconds.
                drop(store);
                tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 3000)).await;
                let Some(store) = weak.upgrade() else { return };
                match store.reload().await {
                    Ok(()) => needs_reload = false,
                    Err(e) => {
                        tracing::warn!("the Redis cache could not reload after losing its change feed: {e}");
                        failures = failures.saturating_add(1);
                    }
                }
                continue;
            }
            let position = p.feed_position.lock().clone();
            let options = StreamReadOptions::default().block(1000).count(500);
            let read = tokio::time::timeout(
                OP_TIMEOUT + Duration::from_secs(1),
                c.xread_options::<_, _, Option<StreamReadReply>>(&[p.feed_key()], &[&position], &options),
            )
            .await;
            let reply = match read {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => {
                    tracing::warn!(
                        "the Redis cache's change feed failed ({}); reconnecting",
                        crate::sources::redis::redis_error(&p.display, &e).message
                    );
                    conn = None;
                    failures = failures.saturating_add(1);
                    continue;
                }
                Err(_) => {
                    conn = None;
                    failures = failures.saturating_add(1);
                    continue;
                }
            };
            failures = 0;
            let Some(reply) = reply else { continue };
            if feed_was_trimmed_past(c, &p.feed_key(), &position).await.unwrap_or(false) {
                needs_reload = true;
                continue;
            }
            let mut last = position;
            'events: for key in reply.keys {
                for event in key.ids {
                    let src: Option<String> = event.get("src");
                    if src.as_deref() == Some(p.instance.as_str()) {
                        last = event.id.clone();
                        continue;
                    }
                    let op: Option<String> = event.get("op");
                    let ids: String = event.get("id").unwrap_or_default();
                    let ids: Vec<u64> = ids.split(',').filter_map(|s| s.parse().ok()).collect();
                    match op.as_deref() {
                        Some("del") => ids.iter().for_each(|id| store.apply_remote_delete(*id)),
                        Some("put") | Some("hit") => {
                            let keys: Vec<String> = ids.iter().map(|id| p.key(*id)).collect();
                            match p.read_entries(&keys).await {
                                Ok(entries) => {
                                    for e in entries {
                                        if let Err(err) = store.apply_remote_put(e) {
                                            tracing::warn!("skipping a change from another instance: {err}");
                                        }
                                    }
                                }
                                Err(e) => {
                                    // Not applied: read it again from here once Redis answers.
                                    tracing::warn!("could not read a changed Redis cache entry: {e}");
                                    failures = failures.saturating_add(1);
                                    break 'events;
                                }
                            }
                        }
                        _ => {
                            tracing::warn!(id = %event.id, "skipping an unknown event in the Redis cache's change feed")
                        }
                    }
                    last = event.id.clone();
                }
            }
            *p.feed_position.lock() = last;
        }
    })
}

/// True when the oldest event still in the feed is newer than `position` plus one: events we never
/// saw were trimmed away.
async fn feed_was_trimmed_past(
    conn: &mut MultiplexedConnection,
    feed: &str,
    position: &str,
) -> redis::RedisResult<bool> {
    let first: redis::Value = tokio::time::timeout(
        OP_TIMEOUT,
        redis::cmd("XRANGE").arg(feed).arg("-").arg("+").arg("COUNT").arg(1).query_async(conn),
    )
    .await
    .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "no answer in time")))??;
    let Some(first) = first_stream_id(&first) else { return Ok(false) };
    if position == "0-0" {
        // The feed was empty when we loaded: every event in it is one we have still to read.
        return Ok(false);
    }
    Ok(stream_id_key(&first) > stream_id_key(position) && !stream_id_follows(position, &first))
}

fn stream_id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Conservative: we cannot know whether ids between were ever used, so only an exact successor
/// counts as "nothing missed"; anything else reloads, which is correct, just slower.
fn stream_id_follows(position: &str, next: &str) -> bool {
    let (a, b) = (stream_id_key(position), stream_id_key(next));
    b == (a.0, a.1 + 1)
}
