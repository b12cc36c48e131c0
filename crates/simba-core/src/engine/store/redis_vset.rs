//! The Redis backend with server-side vector search (Redis 8 vector sets): chosen by
//! [`super::redis::open_store`] when the server has `VSIM`. Nothing is kept in process: the server
//! holds entries and index alike, so any number of app instances on one Redis see each other's
//! changes at once, with no change feed.
//!
//! Keys (all under the store's prefix `P`):
//! - `P e:<id>`: the entry, a hash (same fields as the in-process path) with native TTL;
//! - `P vset:<ph>`: one vector set per partition (`ph` = hash of the namespace id and a newline), member =
//!   entry id, `VADD … FP32 <blob> <id> Q8`;
//! - `P lru:<nh>`: per namespace, a sorted set of (last use, zero-padded id): the LRU order;
//! - `P exp`: a sorted set of (expiry, id) for entries with a TTL;
//! - `P ix`: a hash id → "<ph> <nh> <bytes>": where an entry's index records are, which outlives
//!   the entry's own hash (vector-set members have no TTL);
//! - `P ns`, `P nsbytes`: hashes nh → namespace (JSON) / bytes, for the figures.
//!
//! Every change is one Lua script (atomic like MULTI, and able to read the old record first).
//! Redis expires or evicts an entry hash on its own; its vector-set member then stays until a
//! search meets it (skipped, never served, and VREM'd at once), a hit on it (refused, all records
//! removed), or `purge_expired` (removes every record of entries whose expiry has passed).

use super::redis::{decode, item_fields, load_settings_cmd, save_settings_cmd, unavailable, OP_TIMEOUT};
use super::sqlite::vector_to_blob;
use super::{CacheStore, Invalidation, NamespaceUsage, StoreError, StoreResult};
use crate::engine::cache::types::{context_to_text, CacheEntry, Namespace, Partition};
use async_trait::async_trait;
use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Quantization of the vectors inside the vector sets. Q8 (the server's default) keeps a quarter
/// of the memory of NOQUANT; the candidates are re-scored exactly from the hash's FP32 vector, so
/// the served similarity is exact either way (docs/NOTES.md, "Redis 8 vector sets").
pub const QUANT: &str = "Q8";
/// VSIM asks for this many candidates beyond k: members whose hash Redis expired are skipped, and
/// the exact re-scoring can reorder the quantized ranking.
const EXTRA_CANDIDATES: usize = 4;
/// VSIM's exploration factor (search effort): at least this, and never below the candidate count.
const SEARCH_EF: usize = 200;
/// How many ids one delete script handles (bounds how long Redis is busy with one call).
const DELETE_CHUNK: usize = 500;

const FIELDS: [&str; 15] = [
    "id",
    "tenant",
    "user",
    "item",
    "has_item",
    "model",
    "template_version",
    "context",
    "query",
    "response",
    "embedding",
    "created_at_ms",
    "expires_at_ms",
    "last_hit_at_ms",
    "hits",
];

/// Shared by the scripts: `drop(id)` removes an entry and all its index records; returns 1 when
/// the cache knew it (even if Redis had already expired its hash), 0 otherwise.
const LUA_COMMON: &str = r"
local P = ARGV[1]
local function pad(id) return string.rep('0', 20 - #id) .. id end
local function unpad(m) local s = string.gsub(m, '^0+', '') if s == '' then return '0' end return s end
local function drop(id)
  redis.call('DEL', P .. 'e:' .. id)
  local rec = redis.call('HGET', P .. 'ix', id)
  if not rec then return 0 end
  local ph, nh, bytes = string.match(rec, '^(%S+) (%S+) (%S+)$')
  redis.call('VREM', P .. 'vset:' .. ph, id)
  redis.call('ZREM', P .. 'lru:' .. nh, pad(id))
  redis.call('ZREM', P .. 'exp', id)
  redis.call('HDEL', P .. 'ix', id)
  if redis.call('EXISTS', P .. 'lru:' .. nh) == 0 then
    redis.call('HDEL', P .. 'ns', nh)
    redis.call('HDEL', P .. 'nsbytes', nh)
  else
    redis.call('HINCRBY', P .. 'nsbytes', nh, -tonumber(bytes))
  end
  return 1
end
";

fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{LUA_COMMON}\n{body}"))
}

/// ARGV: P, id, ph, nh, bytes, namespace JSON, expires (0 = none), FP32 blob, quantization,
/// last use, then the hash's field/value pairs. VADD goes first so a refused vector writes nothing.
static PUT: LazyLock<redis::Script> = LazyLock::new(|| {
    script(
        r"
local id, ph, nh, bytes, nsjson = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local expires = tonumber(ARGV[7])
drop(id)
local added = redis.pcall('VADD', P .. 'vset:' .. ph, 'FP32', ARGV[8], id, ARGV[9])
if type(added) == 'table' and added.err then return added end
local key = P .. 'e:' .. id
redis.call('HSET', key, unpack(ARGV, 11))
if expires > 0 then
  redis.call('PEXPIREAT', key, expires)
  redis.call('ZADD', P .. 'exp', expires, id)
end
redis.call('ZADD', P .. 'lru:' .. nh, ARGV[10], pad(id))
redis.call('HSET', P .. 'ix', id, ph .. ' ' .. nh .. ' ' .. bytes)
redis.call('HSET', P .. 'ns', nh, nsjson)
redis.call('HINCRBY', P .. 'nsbytes', nh, bytes)
return 1",
    )
});

/// ARGV: P, ids…; returns how many the cache knew.
static DELETE: LazyLock<redis::Script> = LazyLock::new(|| {
    script(
        r"
local n = 0
for i = 2, #ARGV do n = n + drop(ARGV[i]) end
return n",
    )
});

/// ARGV: P, now, ids… of vector-set members whose hash is gone. Each leaves its vector set at once
/// (it can never be a candidate again). An entry whose expiry has passed keeps its other records
/// until `purge_expired`, which counts it as purged (as the in-process path does); one Redis
/// evicted before its expiry (`maxmemory`) goes entirely.
static FORGET: LazyLock<redis::Script> = LazyLock::new(|| {
    script(
        r"
local now = tonumber(ARGV[2])
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('EXISTS', P .. 'e:' .. id) == 0 then
    local rec = redis.call('HGET', P .. 'ix', id)
    if rec then
      redis.call('VREM', P .. 'vset:' .. string.match(rec, '^(%S+) '), id)
      local expires = redis.call('ZSCORE', P .. 'exp', id)
      if not expires or tonumber(expires) > now then drop(id) end
    end
  end
end
return 1",
    )
});

/// ARGV: P, id, now, new expiry (0 = keep). 0 when the hash is gone (its records go too).
static TOUCH: LazyLock<redis::Script> = LazyLock::new(|| {
    script(
        r"
local id, now, expires = ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = P .. 'e:' .. id
if redis.call('EXISTS', key) == 0 then
  drop(id)
  return 0
end
local rec = redis.call('HGET', P .. 'ix', id)
redis.call('HINCRBY', key, 'hits', 1)
redis.call('HSET', key, 'last_hit_at_ms', now)
if expires > 0 then
  redis.call('HSET', key, 'expires_at_ms', expires)
  redis.call('PEXPIREAT', key, expires)
  redis.call('ZADD', P .. 'exp', expires, id)
end
if rec then
  local nh = string.match(rec, '^%S+ (%S+) ')
  redis.call('ZADD', P .. 'lru:' .. nh, now, pad(id))
end
return 1",
    )
});

/// ARGV: P, nh, max entries: evicts the least recently used beyond the cap.
static CAP: LazyLock<redis::Script> = LazyLock::new(|| {
    script(
        r"
local lru = P .. 'lru:' .. ARGV[2]
local excess = redis.call('ZCARD', lru) - tonumber(ARGV[3])
if excess <= 0 then return 0 end
local n = 0
for _, m in ipairs(redis.call('ZRANGE', lru, 0, excess - 1)) do n = n + drop(unpad(m)) end
return n",
    )
});

/// ARGV: P, now, limit: removes up to `limit` entries whose expiry has passed.
static PURGE: LazyLock<redis::Script> = LazyLock::new(|| {
    script(
        r"
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  drop(id)
  n = n + 1
end
return n",
    )
});

/// ARGV: P, ph, FP32 query, count, ef, field names…: VSIM, then each candidate's hash fields
/// (all nil when Redis expired the hash). Read-only, one round trip.
static SEARCH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local P = ARGV[1]
local found = redis.call('VSIM', P .. 'vset:' .. ARGV[2], 'FP32', ARGV[3], 'COUNT', ARGV[4], 'EF', ARGV[5])
local out = {}
for i, id in ipairs(found) do
  out[i] = {id, redis.call('HMGET', P .. 'e:' .. id, unpack(ARGV, 6))}
end
return out",
    )
});

fn short_hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..12])
}

/// The vector set of a partition is `<prefix>vset:<partition_hash>`.
pub fn partition_hash(p: &Partition) -> String {
    // The blank line once held a chat's hash; kept so the sets written before stay found.
    short_hash(&format!("{}\n", p.namespace.id()))
}

pub fn namespace_hash(namespace_id: &str) -> String {
    short_hash(namespace_id)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

fn positional(values: Vec<Option<Vec<u8>>>) -> HashMap<String, Vec<u8>> {
    FIELDS.iter().zip(values).filter_map(|(f, v)| v.map(|v| (f.to_string(), v))).collect()
}

pub struct RedisVsetStore {
    conn: ConnectionManager,
    display: String,
    prefix: String,
    dims: usize,
}

impl RedisVsetStore {
    /// Uses an open connection to a server that has vector sets; indexes entries that an
    /// in-process-search instance wrote without vector-set records (a switch between the paths).
    pub async fn open(conn: ConnectionManager, display: String, prefix: &str, dims: usize) -> StoreResult<Self> {
        let store = Self { conn, display, prefix: prefix.to_string(), dims };
        let added = store.index_unindexed().await?;
        if added > 0 {
            tracing::info!(added, "added Redis cache entries written without vector-set records to their vector sets");
        }
        Ok(store)
    }

    async fn run<T, F>(&self, what: F) -> StoreResult<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(OP_TIMEOUT, what).await {
            Ok(r) => r.map_err(|e| match e.kind() {
                redis::ErrorKind::ResponseError | redis::ErrorKind::ExtensionError => {
                    StoreError::Invalid(format!("Redis at {} refused the data: {e}", self.display))
                }
                _ => unavailable(&self.display, e),
            }),
            Err(_) => {
                Err(StoreError::Unavailable(format!("Redis at {} did not answer within {OP_TIMEOUT:?}", self.display)))
            }
        }
    }

    fn key(&self, id: u64) -> String {
        format!("{}e:{id}", self.prefix)
    }

    /// The vector set of a partition (for tests and tools).
    pub fn vset_key(&self, p: &Partition) -> String {
        format!("{}vset:{}", self.prefix, partition_hash(p))
    }

    fn lru_key(&self, nh: &str) -> String {
        format!("{}lru:{nh}", self.prefix)
    }

    async fn delete_ids(&self, ids: &[String]) -> StoreResult<u64> {
        let mut n = 0;
        for chunk in ids.chunks(DELETE_CHUNK) {
            let mut inv = DELETE.prepare_invoke();
            inv.arg(&self.prefix);
            for id in chunk {
                inv.arg(id);
            }
            let mut conn = self.conn.clone();
            n += self.run(inv.invoke_async::<u64>(&mut conn)).await?;
        }
        Ok(n)
    }

    async fn read_entries(&self, ids: &[String]) -> StoreResult<Vec<CacheEntry>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HGETALL").arg(format!("{}e:{id}", self.prefix));
            }
            let mut conn = self.conn.clone();
            let maps: Vec<HashMap<String, Vec<u8>>> = self.run(pipe.query_async(&mut conn)).await?;
            for map in maps {
                if let Some(mut e) = decode(&map) {
                    e.embedding = Vec::new();
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// Namespaces the store holds: hash → namespace.
    async fn registry(&self) -> StoreResult<Vec<(String, Namespace)>> {
        let mut conn = self.conn.clone();
        let raw: HashMap<String, String> =
            self.run(redis::cmd("HGETALL").arg(format!("{}ns", self.prefix)).query_async(&mut conn)).await?;
        let mut out: Vec<(String, Namespace)> = raw
            .into_iter()
            .filter_map(|(nh, json)| serde_json::from_str::<Namespace>(&json).ok().map(|ns| (nh, ns)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn namespace_ids(&self, nh: &str) -> StoreResult<Vec<String>> {
        let mut conn = self.conn.clone();
        let members: Vec<String> =
            self.run(redis::cmd("ZRANGE").arg(self.lru_key(nh)).arg(0).arg(-1).query_async(&mut conn)).await?;
        Ok(members.iter().map(|m| unpad(m)).collect())
    }

    async fn put(&self, e: &CacheEntry) -> StoreResult<()> {
        let ns = &e.partition.namespace;
        let nsjson = serde_json::to_string(ns).map_err(|err| StoreError::Invalid(err.to_string()))?;
        let bytes = e.bytes();
        let blob = vector_to_blob(&e.embedding);
        let [(_, item), (_, has_item)] = item_fields(&ns.item);
        let values: [Vec<u8>; 15] = [
            e.id.to_string().into_bytes(),
            ns.tenant.clone().into_bytes(),
            ns.user.clone().into_bytes(),
            item,
            has_item,
            ns.model.clone().into_bytes(),
            ns.template_version.clone().into_bytes(),
            context_to_text(&e.context, &e.background).into_bytes(),
            e.query.clone().into_bytes(),
            e.response.clone().into_bytes(),
            blob.clone(),
            e.created_at_ms.to_string().into_bytes(),
            e.expires_at_ms.unwrap_or(0).to_string().into_bytes(),
            e.last_hit_at_ms.to_string().into_bytes(),
            e.hits.to_string().into_bytes(),
        ];
        let mut inv = PUT.prepare_invoke();
        inv.arg(&self.prefix)
            .arg(e.id.to_string())
            .arg(partition_hash(&e.partition))
            .arg(namespace_hash(&ns.id()))
            .arg(bytes)
            .arg(nsjson)
            .arg(e.expires_at_ms.unwrap_or(0))
            .arg(blob)
            .arg(QUANT)
            .arg(e.last_hit_at_ms);
        for (f, v) in FIELDS.iter().zip(values) {
            inv.arg(*f).arg(v);
        }
        let mut conn = self.conn.clone();
        self.run(inv.invoke_async::<i64>(&mut conn)).await.map(|_| ())
    }

    /// Entry hashes without an index record (written by an instance searching in process) are
    /// added to their vector sets; returns how many.
    async fn index_unindexed(&self) -> StoreResult<usize> {
        let mut conn = self.conn.clone();
        let mut ids = Vec::new();
        let mut cursor: u64 = 0;
        let pattern = format!("{}e:*", self.prefix);
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn),
                )
                .await?;
            ids.extend(
                batch.into_iter().filter_map(|k| k.strip_prefix(&format!("{}e:", self.prefix)).map(String::from)),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut added = 0;
        for chunk in ids.chunks(500) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HEXISTS").arg(format!("{}ix", self.prefix)).arg(id);
            }
            let known: Vec<bool> = self.run(pipe.query_async(&mut conn)).await?;
            let missing: Vec<String> =
                chunk.iter().zip(known).filter(|(_, k)| !k).map(|(id, _)| format!("{}e:{id}", self.prefix)).collect();
            for key in missing {
                let map: HashMap<String, Vec<u8>> =
                    self.run(redis::cmd("HGETALL").arg(&key).query_async(&mut conn)).await?;
                match decode(&map) {
                    Some(e) if e.embedding.len() == self.dims => {
                        self.put(&e).await?;
                        added += 1;
                    }
                    Some(_) | None => {
                        tracing::warn!(%key, "not indexing a Redis cache entry that is malformed or of other dimensions")
                    }
                }
            }
        }
        Ok(added)
    }
}

fn unpad(m: &str) -> String {
    let s = m.trim_start_matches('0');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

#[async_trait]
impl CacheStore for RedisVsetStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn describe(&self) -> String {
        format!(
            "Redis at {}: entries as hashes with Redis's own TTL, searched on the server with vector sets \
             (VSIM, one set per partition, {QUANT}; candidates re-scored exactly); nothing kept in process",
            self.display
        )
    }

    async fn insert(&self, entry: CacheEntry) -> StoreResult<()> {
        if entry.embedding.len() != self.dims {
            return Err(StoreError::Invalid(format!(
                "embedding has {} dimensions, this store holds {}",
                entry.embedding.len(),
                self.dims
            )));
        }
        self.put(&entry).await
    }

    async fn search(
        &self,
        partition: &Partition,
        vector: &[f32],
        k: usize,
        now_ms: i64,
    ) -> StoreResult<Vec<(CacheEntry, f32)>> {
        if vector.len() != self.dims {
            return Err(StoreError::Invalid(format!(
                "query vector has {} dimensions, this store holds {}",
                vector.len(),
                self.dims
            )));
        }
        if k == 0 {
            return Ok(vec![]);
        }
        let count = k + EXTRA_CANDIDATES;
        let mut inv = SEARCH.prepare_invoke();
        inv.arg(&self.prefix)
            .arg(partition_hash(partition))
            .arg(vector_to_blob(vector))
            .arg(count)
            .arg(SEARCH_EF.max(count));
        for f in FIELDS {
            inv.arg(f);
        }
        let mut conn = self.conn.clone();
        let found: Vec<(String, Vec<Option<Vec<u8>>>)> = self.run(inv.invoke_async(&mut conn)).await?;
        let mut gone = Vec::new();
        let mut out = Vec::with_capacity(found.len());
        for (id, values) in found {
            if values.iter().all(Option::is_none) {
                gone.push(id); // Redis expired or evicted the hash: never served, removed below
                continue;
            }
            let Some(mut e) = decode(&positional(values)) else {
                tracing::warn!(%id, "skipping a Redis cache entry with missing or malformed fields");
                continue;
            };
            // The set is the partition's; checking again costs nothing and guards against stray members.
            if &e.partition != partition || e.expired_at(now_ms) || e.embedding.len() != vector.len() {
                continue;
            }
            let sim = cosine(vector, &e.embedding);
            e.embedding = Vec::new();
            out.push((e, sim));
        }
        if !gone.is_empty() {
            let mut inv = FORGET.prepare_invoke();
            inv.arg(&self.prefix).arg(chrono::Utc::now().timestamp_millis());
            for id in &gone {
                inv.arg(id);
            }
            let mut conn = self.conn.clone();
            if let Err(err) = self.run(inv.invoke_async::<i64>(&mut conn)).await {
                tracing::warn!("could not remove vector-set members of expired Redis cache entries: {err}");
            }
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
        out.truncate(k);
        Ok(out)
    }

    async fn record_hit(&self, id: u64, now_ms: i64, new_expiry_ms: Option<i64>) -> StoreResult<bool> {
        let mut inv = TOUCH.prepare_invoke();
        inv.arg(&self.prefix).arg(id.to_string()).arg(now_ms).arg(new_expiry_ms.unwrap_or(0));
        let mut conn = self.conn.clone();
        Ok(self.run(inv.invoke_async::<i64>(&mut conn)).await? == 1)
    }

    async fn get(&self, id: u64) -> StoreResult<Option<CacheEntry>> {
        let mut conn = self.conn.clone();
        let map: HashMap<String, Vec<u8>> =
            self.run(redis::cmd("HGETALL").arg(self.key(id)).query_async(&mut conn)).await?;
        Ok(decode(&map).map(|mut e| {
            e.embedding = Vec::new();
            e
        }))
    }

    async fn invalidate(&self, what: &Invalidation) -> StoreResult<u64> {
        if let Invalidation::Entry { id } = what {
            return self.delete_ids(&[id.to_string()]).await;
        }
        let mut n = 0;
        for (nh, namespace) in self.registry().await? {
            // Item/user/namespace/all invalidations depend on the namespace only.
            let probe = CacheEntry {
                id: 0,
                partition: Partition { namespace },
                context: vec![],
                background: vec![],
                query: String::new(),
                response: String::new(),
                embedding: Vec::new(),
                created_at_ms: 0,
                expires_at_ms: None,
                last_hit_at_ms: 0,
                hits: 0,
            };
            if what.matches(&probe) {
                n += self.delete_ids(&self.namespace_ids(&nh).await?).await?;
            }
        }
        Ok(n)
    }

    async fn enforce_cap(&self, namespace: &Namespace, max_entries: u64) -> StoreResult<u64> {
        let mut inv = CAP.prepare_invoke();
        inv.arg(&self.prefix).arg(namespace_hash(&namespace.id())).arg(max_entries);
        let mut conn = self.conn.clone();
        self.run(inv.invoke_async::<u64>(&mut conn)).await
    }

    async fn purge_expired(&self, now_ms: i64) -> StoreResult<u64> {
        let mut n = 0;
        loop {
            let mut inv = PURGE.prepare_invoke();
            inv.arg(&self.prefix).arg(now_ms).arg(DELETE_CHUNK);
            let mut conn = self.conn.clone();
            let done: u64 = self.run(inv.invoke_async(&mut conn)).await?;
            n += done;
            if done < DELETE_CHUNK as u64 {
                return Ok(n);
            }
        }
    }

    async fn namespaces(&self) -> StoreResult<Vec<NamespaceUsage>> {
        let registry = self.registry().await?;
        if registry.is_empty() {
            return Ok(vec![]);
        }
        let mut pipe = redis::pipe();
        for (nh, _) in &registry {
            pipe.cmd("ZCARD").arg(self.lru_key(nh));
            pipe.cmd("HGET").arg(format!("{}nsbytes", self.prefix)).arg(nh);
        }
        let mut conn = self.conn.clone();
        let counts: Vec<(u64, Option<i64>)> = {
            let flat: Vec<redis::Value> = self.run(pipe.query_async(&mut conn)).await?;
            flat.chunks(2)
                .map(|c| {
                    let n: u64 = redis::from_redis_value(&c[0]).unwrap_or(0);
                    let b: Option<i64> = redis::from_redis_value(&c[1]).unwrap_or(None);
                    (n, b)
                })
                .collect()
        };
        let mut out: Vec<NamespaceUsage> = registry
            .into_iter()
            .zip(counts)
            .filter(|(_, (n, _))| *n > 0)
            .map(|((_, namespace), (entries, bytes))| NamespaceUsage {
                id: namespace.id(),
                namespace,
                entries,
                bytes: bytes.unwrap_or(0).max(0) as u64,
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
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

    async fn entries(&self, namespace_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<CacheEntry>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let mut conn = self.conn.clone();
        let members: Vec<String> = self
            .run(
                redis::cmd("ZREVRANGE")
                    .arg(self.lru_key(&namespace_hash(namespace_id)))
                    .arg(offset)
                    .arg(offset + limit - 1)
                    .query_async(&mut conn),
            )
            .await?;
        let ids: Vec<String> = members.iter().map(|m| unpad(m)).collect();
        self.read_entries(&ids).await
    }
}
