//! Celery over a Redis broker, read from the broker alone (the way Flower does it, without running
//! inside the platform): queue depths with priority buckets, task names in a bounded sample of the
//! queued messages (message protocol 2), messages in flight (`unacked`, `unacked_index`), workers
//! alive from event heartbeats (`PSUBSCRIBE /<db>.celeryev/*` for a bounded window), and with
//! `inspect` the workers' own answers over the pidbox (the one control message this sends).
//!
//! Reads only: SMEMBERS, SCAN, TYPE, LLEN, LRANGE, HLEN, HSCAN, ZRANGE, ZCARD, PSUBSCRIBE. `inspect`
//! adds one reply binding (SADD, removed afterwards), one PUBLISH and BRPOP on its own reply list.

use super::redis::{cmd, connect, redis_error};
use super::{with_timeout, CONNECT_TIMEOUT, QUERY_TIMEOUT};
use crate::clock::now_secs;
use crate::error::{ApiError, ApiResult};
use crate::profiles::Endpoint;
use base64::Engine;
use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::{Duration, Instant};
use ts_rs::TS;

/// kombu's separator inside binding members and priority queue names.
pub const SEP: &str = "\x06\x16";
/// The platform's queues, looked at even when no binding names them.
pub const KNOWN_QUEUES: [&str; 4] = ["llm_queue", "data_queue", "vector_queue", "celery"];
/// kombu's priority steps for the Redis transport: bucket suffixes after the separator.
pub const PRIORITY_STEPS: &[u8] = &[0, 3, 6, 9];

#[derive(Debug, Clone)]
pub struct QueuesOptions {
    /// How long to listen for worker events.
    pub listen: Duration,
    /// The broker's visibility_timeout, for the age of in-flight messages.
    pub visibility_timeout: Duration,
    /// Messages read per queue for task names.
    pub sample_per_queue: usize,
    /// Keys the SCAN for list keys may read.
    pub scan_keys: u64,
    /// Ask the workers over the pidbox (ping, active, stats, active_queues).
    pub inspect: bool,
    pub inspect_timeout: Duration,
}

impl Default for QueuesOptions {
    fn default() -> Self {
        Self {
            listen: Duration::from_millis(2500),
            visibility_timeout: Duration::from_secs(3600),
            sample_per_queue: 200,
            scan_keys: 10_000,
            inspect: false,
            inspect_timeout: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueuesReport {
    pub collected_at: String,
    /// The broker URL without its password.
    pub broker: String,
    #[ts(type = "number")]
    pub db: i64,
    /// Whether any kombu key (binding, unacked, pidbox) was found.
    pub celery_broker: bool,
    pub queues: Vec<QueueInfo>,
    pub in_flight: InFlight,
    pub workers: Vec<WorkerInfo>,
    /// How long the report listened for worker events, s.
    pub listen_seconds: f64,
    /// Seconds between the two depth readings the rates come from.
    pub rate_interval_seconds: f64,
    pub inspect: Option<InspectReport>,
    pub findings: Vec<QueueFinding>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueInfo {
    pub name: String,
    /// All buckets together (the second reading).
    #[ts(type = "number")]
    pub depth: u64,
    pub buckets: Vec<PriorityBucket>,
    /// How the queue was found: `binding`, `known`, `scan`.
    pub found_by: String,
    /// Workers known to consume it (from inspect active_queues), when inspected.
    pub consumers: Vec<String>,
    /// Task names in the sampled messages, most frequent first.
    pub task_names: Vec<TaskCount>,
    #[ts(type = "number")]
    pub sampled: u64,
    /// Sampled messages whose envelope or body could not be decoded.
    #[ts(type = "number")]
    pub undecodable: u64,
    /// Depth change per second between the two readings (positive: growing).
    pub net_rate_per_s: Option<f64>,
    /// depth / drain rate when the queue shrank between the readings, s.
    pub wait_estimate_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PriorityBucket {
    pub key: String,
    /// kombu priority step (0, 3, 6, 9); lower runs first.
    pub step: u8,
    #[ts(type = "number")]
    pub len: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskCount {
    pub task: String,
    #[ts(type = "number")]
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InFlight {
    /// HLEN unacked.
    #[ts(type = "number")]
    pub count: u64,
    /// ZCARD unacked_index.
    #[ts(type = "number")]
    pub index_count: u64,
    pub oldest_age_seconds: Option<f64>,
    pub visibility_timeout_seconds: f64,
    /// Messages older than visibility_timeout: redelivered on the next restore, run twice.
    #[ts(type = "number")]
    pub past_visibility_timeout: u64,
    /// Up to 100, oldest first.
    pub messages: Vec<InFlightMessage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InFlightMessage {
    pub delivery_tag: String,
    pub task: Option<String>,
    pub task_id: Option<String>,
    /// The routing key it came by (its queue).
    pub queue: Option<String>,
    pub age_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct WorkerInfo {
    pub hostname: String,
    pub alive: bool,
    /// `heartbeat` (an event in the window), `offline` (worker-offline event), `no heartbeat`
    /// (known from its pidbox binding, which stays after SIGKILL, but silent).
    pub state: String,
    /// Seconds since its last event, by its own timestamp.
    pub last_event_age_seconds: Option<f64>,
    pub freq: Option<f64>,
    #[ts(type = "number | null")]
    pub active: Option<u64>,
    #[ts(type = "number | null")]
    pub processed: Option<u64>,
    pub loadavg: Option<Vec<f64>>,
    pub sw_ver: Option<String>,
    /// From inspect active_queues.
    pub queues: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InspectReport {
    /// hostname → reply, per method (ping, active, stats, active_queues).
    pub replies: BTreeMap<String, BTreeMap<String, Json>>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueFinding {
    /// `warning` or `info`.
    pub severity: String,
    pub queue: Option<String>,
    pub message: String,
}

/// The database number in a redis:// URL's path (0 when none).
pub fn db_of(url: &str) -> i64 {
    url::Url::parse(url).ok().and_then(|u| u.path().trim_start_matches('/').parse().ok()).unwrap_or(0)
}

pub fn bucket_key(queue: &str, step: u8) -> String {
    if step == 0 {
        queue.to_string()
    } else {
        format!("{queue}{SEP}{step}")
    }
}

/// A decoded kombu message (the JSON envelope kombu's Redis transport stores).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub task: Option<String>,
    pub id: Option<String>,
    /// The body `[args, kwargs, embed]` (protocol 2), when it decoded.
    pub body: Option<Json>,
}

/// Decodes a kombu envelope: headers.task (protocol 2), the base64 body, zlib when
/// `compression` is `application/x-gzip` (Celery's "gzip" is zlib, RFC 1950).
pub fn decode_message(raw: &[u8]) -> Option<Decoded> {
    let env: Json = serde_json::from_slice(raw).ok()?;
    let headers = env.get("headers");
    let props = env.get("properties");
    let body_raw = env.get("body").and_then(Json::as_str).unwrap_or("");
    let mut bytes = if props.and_then(|p| p.get("body_encoding")).and_then(Json::as_str) == Some("base64") {
        base64::engine::general_purpose::STANDARD.decode(body_raw.trim()).ok()
    } else {
        Some(body_raw.as_bytes().to_vec())
    };
    let compression = headers.and_then(|h| h.get("compression")).and_then(Json::as_str);
    if let (Some(c), Some(b)) = (compression, bytes.as_ref()) {
        bytes = if c.contains("gzip") || c.contains("zlib") {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(&b[..]).read_to_end(&mut out).ok().map(|_| out)
        } else {
            None
        };
    }
    let body: Option<Json> = bytes.and_then(|b| serde_json::from_slice(&b).ok());
    let task = headers
        .and_then(|h| h.get("task"))
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| body.as_ref().and_then(|b| b.get("task")).and_then(Json::as_str).map(str::to_string));
    let id = headers
        .and_then(|h| h.get("id"))
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| body.as_ref().and_then(|b| b.get("id")).and_then(Json::as_str).map(str::to_string));
    if task.is_none() && body.is_none() {
        return None;
    }
    Some(Decoded { task, id, body })
}

/// Each bucket's length, in one pipeline.
async fn depths(con: &mut MultiplexedConnection, display: &str, queues: &[String]) -> ApiResult<Vec<Vec<u64>>> {
    let mut p = redis::pipe();
    for q in queues {
        for s in PRIORITY_STEPS {
            p.cmd("LLEN").arg(bucket_key(q, *s));
        }
    }
    let flat: Vec<u64> = with_timeout(&format!("Redis at {display}"), QUERY_TIMEOUT, async {
        p.query_async(con).await.map_err(|e| redis_error(display, &e))
    })
    .await?;
    Ok(flat.chunks(PRIORITY_STEPS.len()).map(|c| c.to_vec()).collect())
}

/// The queue a key names, when it is a priority bucket `q\x06\x16N`, else the key itself.
fn queue_of_key(key: &str) -> String {
    match key.split_once(SEP) {
        Some((q, step)) if step.parse::<u8>().is_ok() => q.to_string(),
        _ => key.to_string(),
    }
}

struct Discovery {
    queues: BTreeMap<String, String>,
    pidbox_hosts: BTreeSet<String>,
    kombu_keys: bool,
}

async fn discover(con: &mut MultiplexedConnection, display: &str, scan_keys: u64) -> ApiResult<Discovery> {
    let mut queues = BTreeMap::new();
    let mut pidbox_hosts = BTreeSet::new();
    let mut kombu_keys = false;
    let mut list_keys = BTreeSet::new();
    let mut cursor: u64 = 0;
    let mut read = 0u64;
    let mut bindings = vec![];
    loop {
        let (next, keys): (u64, Vec<String>) =
            cmd(con, display, redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(500)).await?;
        read += keys.len() as u64;
        for k in keys {
            if k.starts_with("_kombu.binding.") {
                bindings.push(k);
            } else if k == "unacked" || k == "unacked_index" || k == "unacked_mutex" {
                kombu_keys = true;
            } else {
                list_keys.insert(k);
            }
        }
        cursor = next;
        if cursor == 0 || read >= scan_keys {
            break;
        }
    }
    for b in &bindings {
        kombu_keys = true;
        let exchange = &b["_kombu.binding.".len()..];
        let members: Vec<String> = cmd(con, display, redis::cmd("SMEMBERS").arg(b)).await?;
        for m in members {
            // routing_key SEP pattern SEP queue
            let queue = m.rsplit(SEP).next().unwrap_or("").to_string();
            if exchange == "celery.pidbox" {
                if let Some(host) = queue.strip_suffix(".celery.pidbox") {
                    pidbox_hosts.insert(host.to_string());
                }
            } else if exchange == "celeryev" || exchange.starts_with("reply.") || queue.is_empty() {
                // event and reply queues are not task queues
            } else {
                queues.entry(queue).or_insert_with(|| "binding".to_string());
            }
        }
    }
    for q in KNOWN_QUEUES {
        queues.entry(q.to_string()).or_insert_with(|| "known".to_string());
    }
    // list keys found by the SCAN: their queue names
    let candidates: Vec<String> = list_keys.into_iter().collect();
    for chunk in candidates.chunks(200) {
        let mut p = redis::pipe();
        for k in chunk {
            p.cmd("TYPE").arg(k);
        }
        let types: Vec<String> = with_timeout(&format!("Redis at {display}"), QUERY_TIMEOUT, async {
            p.query_async(con).await.map_err(|e| redis_error(display, &e))
        })
        .await?;
        for (k, t) in chunk.iter().zip(types) {
            if t == "list" && !k.ends_with(".reply.celery.pidbox") && !k.contains(".celery.pidbox") {
                queues.entry(queue_of_key(k)).or_insert_with(|| "scan".to_string());
            }
        }
    }
    Ok(Discovery { queues, pidbox_hosts, kombu_keys })
}

async fn sample_tasks(
    con: &mut MultiplexedConnection,
    display: &str,
    queue: &str,
    limit: usize,
) -> ApiResult<(BTreeMap<String, u64>, u64, u64)> {
    let mut names = BTreeMap::new();
    let (mut sampled, mut bad) = (0u64, 0u64);
    for s in PRIORITY_STEPS {
        let left = limit.saturating_sub(sampled as usize);
        if left == 0 {
            break;
        }
        let msgs: Vec<Vec<u8>> =
            cmd(con, display, redis::cmd("LRANGE").arg(bucket_key(queue, *s)).arg(0).arg(left as i64 - 1)).await?;
        for m in msgs {
            sampled += 1;
            match decode_message(&m).and_then(|d| d.task) {
                Some(t) => *names.entry(t).or_insert(0) += 1,
                None => bad += 1,
            }
        }
    }
    Ok((names, sampled, bad))
}

async fn in_flight(con: &mut MultiplexedConnection, display: &str, visibility: Duration) -> ApiResult<InFlight> {
    let count: u64 = cmd(con, display, redis::cmd("HLEN").arg("unacked")).await?;
    let index_count: u64 = cmd(con, display, redis::cmd("ZCARD").arg("unacked_index")).await?;
    let oldest: Vec<(String, f64)> =
        cmd(con, display, redis::cmd("ZRANGE").arg("unacked_index").arg(0).arg(99).arg("WITHSCORES")).await?;
    let vt = visibility.as_secs_f64();
    let past: u64 =
        cmd(con, display, redis::cmd("ZCOUNT").arg("unacked_index").arg("-inf").arg(now_secs() - vt)).await?;
    let now = now_secs();
    let mut messages = vec![];
    for (tag, score) in &oldest {
        let raw: Option<Vec<u8>> = cmd(con, display, redis::cmd("HGET").arg("unacked").arg(tag)).await?;
        let (mut task, mut task_id, mut queue) = (None, None, None);
        if let Some(v) = raw.and_then(|r| serde_json::from_slice::<Json>(&r).ok()) {
            if let Some(arr) = v.as_array() {
                if let Some(m) = arr
                    .first()
                    .and_then(|m| m.as_str().map(|s| s.as_bytes().to_vec()).or_else(|| serde_json::to_vec(m).ok()))
                {
                    if let Some(d) = decode_message(&m) {
                        task = d.task;
                        task_id = d.id;
                    }
                }
                queue = arr.get(2).and_then(Json::as_str).map(str::to_string);
            }
        }
        messages.push(InFlightMessage {
            delivery_tag: tag.clone(),
            task,
            task_id,
            queue,
            age_seconds: Some((now - score).max(0.0)),
        });
    }
    Ok(InFlight {
        count,
        index_count,
        oldest_age_seconds: oldest.first().map(|(_, s)| (now - s).max(0.0)),
        visibility_timeout_seconds: vt,
        past_visibility_timeout: past,
        messages,
    })
}

/// One worker event, decoded from the kombu envelope published on `/<db>.celeryev/<routing key>`.
pub fn decode_event(payload: &[u8]) -> Option<Json> {
    let d = decode_message(payload)?;
    let body = d.body?;
    body.get("type").and_then(Json::as_str)?;
    Some(body)
}

async fn listen_events(endpoint: &Endpoint, db: i64, window: Duration) -> ApiResult<Vec<Json>> {
    let client = redis::Client::open(endpoint.url.expose())
        .map_err(|e| ApiError::invalid(format!("Redis URL {} is not usable: {e}", endpoint.display)))?;
    let mut pubsub = with_timeout(&format!("Redis at {}", endpoint.display), CONNECT_TIMEOUT, async {
        client.get_async_pubsub().await.map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await?;
    pubsub.psubscribe(format!("/{db}.celeryev/*")).await.map_err(|e| redis_error(&endpoint.display, &e))?;
    let mut events = vec![];
    let deadline = tokio::time::Instant::now() + window;
    let mut stream = pubsub.on_message();
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, stream.next()).await {
        let payload: Vec<u8> = msg.get_payload_bytes().to_vec();
        if let Some(ev) = decode_event(&payload) {
            events.push(ev);
        }
    }
    Ok(events)
}

fn workers_from(events: &[Json], pidbox_hosts: &BTreeSet<String>) -> Vec<WorkerInfo> {
    let mut by_host: BTreeMap<String, WorkerInfo> = BTreeMap::new();
    let now = now_secs();
    for ev in events {
        let ty = ev.get("type").and_then(Json::as_str).unwrap_or("");
        if !ty.starts_with("worker-") {
            continue;
        }
        let Some(host) = ev.get("hostname").and_then(Json::as_str) else { continue };
        let ts = ev.get("timestamp").and_then(Json::as_f64);
        let freq = ev.get("freq").and_then(Json::as_f64);
        let age = ts.map(|t| (now - t).max(0.0));
        let alive_by_age = match (age, freq) {
            (Some(a), Some(f)) if f > 0.0 => a < 2.0 * f,
            _ => true,
        };
        let offline = ty == "worker-offline";
        by_host.insert(
            host.to_string(),
            WorkerInfo {
                hostname: host.to_string(),
                alive: !offline && alive_by_age,
                state: if offline { "offline".into() } else { "heartbeat".into() },
                last_event_age_seconds: age,
                freq,
                active: ev.get("active").and_then(Json::as_u64),
                processed: ev.get("processed").and_then(Json::as_u64),
                loadavg: ev
                    .get("loadavg")
                    .and_then(Json::as_array)
                    .map(|a| a.iter().filter_map(Json::as_f64).collect()),
                sw_ver: ev.get("sw_ver").and_then(Json::as_str).map(str::to_string),
                queues: vec![],
            },
        );
    }
    for h in pidbox_hosts {
        by_host.entry(h.clone()).or_insert_with(|| WorkerInfo {
            hostname: h.clone(),
            alive: false,
            state: "no heartbeat".into(),
            last_event_age_seconds: None,
            freq: None,
            active: None,
            processed: None,
            loadavg: None,
            sw_ver: None,
            queues: vec![],
        });
    }
    by_host.into_values().collect()
}

/// The kombu envelope for a pidbox broadcast (celery.app.control / kombu.pidbox `_broadcast`).
/// `destination`: the workers' hostnames, or every worker when None.
fn pidbox_message(
    method: &str,
    arguments: &Json,
    destination: Option<&[String]>,
    reply_key: &str,
    ticket: &str,
) -> String {
    let body = serde_json::json!({
        "method": method,
        "arguments": arguments,
        "destination": destination,
        "pattern": null,
        "matcher": null,
        "reply_to": {"exchange": "reply.celery.pidbox", "routing_key": reply_key},
        "ticket": ticket,
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(body.to_string());
    serde_json::json!({
        "body": b64,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"clock": 1, "expires": now_secs() + 10.0},
        "properties": {
            "delivery_mode": 2,
            "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": ticket,
        },
    })
    .to_string()
}

fn new_id() -> String {
    use rand::Rng;
    let mut r = rand::rng();
    let b: [u8; 16] = r.random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Who a remote-control command goes to and how long its replies are awaited.
pub(crate) struct Reach<'a> {
    /// Worker hostnames; `None` asks every worker.
    pub destination: Option<&'a [String]>,
    /// Stop waiting once this many workers answered (0: wait the whole `timeout`).
    pub expected: usize,
    pub timeout: Duration,
}

/// One remote-control command over the pidbox (what `celery control|inspect METHOD` sends): the
/// replies by worker hostname, gathered as `reach` says.
/// The reply binding and list are removed afterwards, whatever happened.
pub(crate) async fn control(
    con: &mut MultiplexedConnection,
    display: &str,
    db: i64,
    method: &str,
    arguments: &Json,
    reach: Reach<'_>,
) -> ApiResult<BTreeMap<String, Json>> {
    let Reach { destination, expected, timeout } = reach;
    let mut replies = BTreeMap::new();
    let reply_key = new_id();
    let ticket = new_id();
    let reply_queue = format!("{reply_key}.reply.celery.pidbox");
    let member = format!("{reply_key}{SEP}{SEP}{reply_queue}");
    let binding = "_kombu.binding.reply.celery.pidbox";
    let r: ApiResult<()> = async {
        let _: i64 = cmd(con, display, redis::cmd("SADD").arg(binding).arg(&member)).await?;
        let msg = pidbox_message(method, arguments, destination, &reply_key, &ticket);
        let _: i64 = cmd(con, display, redis::cmd("PUBLISH").arg(format!("/{db}.celery.pidbox")).arg(msg)).await?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && (expected == 0 || replies.len() < expected) {
            let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64().max(0.05);
            let r: Option<(String, Vec<u8>)> =
                with_timeout(&format!("Redis at {display}"), timeout + QUERY_TIMEOUT, async {
                    redis::cmd("BRPOP")
                        .arg(&reply_queue)
                        .arg(left)
                        .query_async(con)
                        .await
                        .map_err(|e| redis_error(display, &e))
                })
                .await?;
            let Some((_, raw)) = r else { break };
            if let Some(obj) = decode_message(&raw).and_then(|d| d.body).and_then(|b| b.as_object().cloned()) {
                replies.extend(obj);
            }
        }
        Ok(())
    }
    .await;
    let _: Result<i64, _> = cmd(con, display, redis::cmd("SREM").arg(binding).arg(&member)).await;
    let _: Result<i64, _> = cmd(con, display, redis::cmd("DEL").arg(&reply_queue)).await;
    r.map(|()| replies)
}

async fn inspect(
    con: &mut MultiplexedConnection,
    display: &str,
    db: i64,
    expected: usize,
    timeout: Duration,
) -> InspectReport {
    let mut replies: BTreeMap<String, BTreeMap<String, Json>> = BTreeMap::new();
    let mut problem = None;
    for method in ["ping", "active", "stats", "active_queues"] {
        match control(con, display, db, method, &serde_json::json!({}), Reach { destination: None, expected, timeout })
            .await
        {
            Ok(got) => {
                for (host, v) in got {
                    replies.entry(host).or_default().insert(method.to_string(), v);
                }
            }
            Err(e) => {
                problem = Some(format!("inspect {method}: {}", e.message));
                break;
            }
        }
    }
    if replies.is_empty() && problem.is_none() {
        problem = Some(format!("no worker answered within {:.1} s", timeout.as_secs_f64()));
    }
    InspectReport { replies, problem }
}

/// The broker's figures the history sampler keeps: messages waiting (all queues, priority buckets
/// included), the deepest queue, messages in flight (acks_late's `unacked`) and the oldest one's
/// age. Cheap enough for every sampling round: a bounded SCAN, one LLEN pipeline, HLEN and ZRANGE.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerSample {
    /// The depth of each of the platform's queues ([`KNOWN_QUEUES`], in that order).
    pub known: [u64; 4],
    /// Every queue found, with its depth, the deepest first, at most [`SAMPLE_QUEUES_KEPT`]
    /// (for the per-queue alerts: growing, not consumed).
    pub queues: Vec<(String, u64)>,
    pub queued: u64,
    pub largest_queue: u64,
    pub in_flight: u64,
    /// 0 when nothing is in flight.
    pub oldest_in_flight_seconds: f64,
}

/// Keys the sampler's SCAN may read (the full report reads [`QueuesOptions::scan_keys`]).
const SAMPLE_SCAN_KEYS: u64 = 2_000;
/// Queues whose depth each sample keeps by name: the deepest ones; the rest count in `queued`.
pub const SAMPLE_QUEUES_KEPT: usize = 50;

pub async fn sample(endpoint: &Endpoint) -> ApiResult<BrokerSample> {
    let display = endpoint.display.clone();
    let mut con = connect(endpoint).await?;
    let disc = discover(&mut con, &display, SAMPLE_SCAN_KEYS).await?;
    let names: Vec<String> = disc.queues.keys().cloned().collect();
    let per_queue: Vec<u64> = depths(&mut con, &display, &names).await?.iter().map(|b| b.iter().sum()).collect();
    let in_flight: u64 = cmd(&mut con, &display, redis::cmd("HLEN").arg("unacked")).await?;
    let oldest: Vec<(String, f64)> =
        cmd(&mut con, &display, redis::cmd("ZRANGE").arg("unacked_index").arg(0).arg(0).arg("WITHSCORES")).await?;
    let mut known = [0u64; 4];
    for (slot, name) in known.iter_mut().zip(KNOWN_QUEUES) {
        *slot = names.iter().position(|n| n.as_str() == name).map(|i| per_queue[i]).unwrap_or(0);
    }
    let mut queues: Vec<(String, u64)> = names.into_iter().zip(per_queue.iter().copied()).collect();
    queues.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    queues.truncate(SAMPLE_QUEUES_KEPT);
    Ok(BrokerSample {
        known,
        queues,
        queued: per_queue.iter().sum(),
        largest_queue: per_queue.iter().copied().max().unwrap_or(0),
        in_flight,
        oldest_in_flight_seconds: oldest.first().map(|(_, at)| (now_secs() - at).max(0.0)).unwrap_or(0.0),
    })
}

pub async fn collect(endpoint: &Endpoint, opts: &QueuesOptions) -> ApiResult<QueuesReport> {
    let display = endpoint.display.clone();
    let db = db_of(endpoint.url.expose());
    let mut con = connect(endpoint).await?;
    let disc = discover(&mut con, &display, opts.scan_keys).await?;
    let names: Vec<String> = disc.queues.keys().cloned().collect();
    let first = depths(&mut con, &display, &names).await?;
    let t0 = Instant::now();
    let events = listen_events(endpoint, db, opts.listen).await?;
    let in_flight = in_flight(&mut con, &display, opts.visibility_timeout).await?;
    let mut workers = workers_from(&events, &disc.pidbox_hosts);
    let inspect_report = if opts.inspect {
        let n = workers.iter().filter(|w| w.alive).count();
        Some(inspect(&mut con, &display, db, n, opts.inspect_timeout).await)
    } else {
        None
    };
    let second = depths(&mut con, &display, &names).await?;
    let dt = t0.elapsed().as_secs_f64();
    if let Some(ins) = &inspect_report {
        for (host, r) in &ins.replies {
            let qs: Vec<String> = r
                .get("active_queues")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(|q| q.get("name").and_then(Json::as_str).map(str::to_string)).collect())
                .unwrap_or_default();
            match workers.iter_mut().find(|w| &w.hostname == host) {
                Some(w) => w.queues = qs,
                None => workers.push(WorkerInfo {
                    hostname: host.clone(),
                    alive: true,
                    state: "answered inspect".into(),
                    last_event_age_seconds: None,
                    freq: None,
                    active: None,
                    processed: None,
                    loadavg: None,
                    sw_ver: None,
                    queues: qs,
                }),
            }
        }
    }
    let mut queues = vec![];
    for (i, name) in names.iter().enumerate() {
        let depth: u64 = second[i].iter().sum();
        let before: u64 = first[i].iter().sum();
        if depth == 0 && before == 0 && disc.queues[name] != "binding" && !KNOWN_QUEUES.contains(&name.as_str()) {
            continue;
        }
        let (tn, sampled, undecodable) = sample_tasks(&mut con, &display, name, opts.sample_per_queue).await?;
        let mut task_names: Vec<TaskCount> = tn.into_iter().map(|(task, count)| TaskCount { task, count }).collect();
        task_names.sort_by(|a, b| b.count.cmp(&a.count).then(a.task.cmp(&b.task)));
        let net = if dt > 0.0 { Some((depth as f64 - before as f64) / dt) } else { None };
        let wait = match net {
            Some(r) if r < 0.0 => Some(depth as f64 / -r),
            _ => None,
        };
        queues.push(QueueInfo {
            name: name.clone(),
            depth,
            buckets: PRIORITY_STEPS
                .iter()
                .zip(&second[i])
                .map(|(s, l)| PriorityBucket { key: bucket_key(name, *s), step: *s, len: *l })
                .collect(),
            found_by: disc.queues[name].clone(),
            consumers: workers
                .iter()
                .filter(|w| w.alive && w.queues.contains(name))
                .map(|w| w.hostname.clone())
                .collect(),
            task_names,
            sampled,
            undecodable,
            net_rate_per_s: net,
            wait_estimate_seconds: wait,
        });
    }
    let celery_broker = disc.kombu_keys || !disc.pidbox_hosts.is_empty() || in_flight.count > 0;
    let findings = findings(&queues, &workers, &in_flight, celery_broker, inspect_report.is_some());
    Ok(QueuesReport {
        collected_at: chrono::Utc::now().to_rfc3339(),
        broker: display,
        db,
        celery_broker,
        queues,
        in_flight,
        workers,
        listen_seconds: opts.listen.as_secs_f64(),
        rate_interval_seconds: dt,
        inspect: inspect_report,
        findings,
    })
}

fn findings(
    queues: &[QueueInfo],
    workers: &[WorkerInfo],
    inf: &InFlight,
    celery_broker: bool,
    inspected: bool,
) -> Vec<QueueFinding> {
    let mut out = vec![];
    let warn = |q: Option<&str>, m: String| QueueFinding {
        severity: "warning".into(),
        queue: q.map(str::to_string),
        message: m,
    };
    if !celery_broker {
        out.push(QueueFinding {
            severity: "info".into(),
            queue: None,
            message: "no kombu keys (_kombu.binding.*, unacked) in this database: this does not look like a Celery \
                      broker, or no worker or client has used it yet; check the database number in the URL"
                .into(),
        });
    }
    let alive: Vec<&WorkerInfo> = workers.iter().filter(|w| w.alive).collect();
    for q in queues.iter().filter(|q| q.depth > 0) {
        let tasks = q.task_names.iter().map(|t| t.task.as_str()).take(3).collect::<Vec<_>>().join(", ");
        if alive.is_empty() {
            out.push(warn(
                Some(&q.name),
                format!(
                    "queue '{}' holds {} message(s) ({tasks}) but no worker sent a heartbeat: start a worker with \
                     -Q {} (and -E for events), or check that the workers reach this broker",
                    q.name, q.depth, q.name
                ),
            ));
        } else if inspected && q.consumers.is_empty() {
            out.push(warn(
                Some(&q.name),
                format!(
                    "queue '{}' holds {} message(s) ({tasks}) that no live worker consumes: add '{}' to a worker's -Q \
                     list, or fix task_routes so these tasks go to a consumed queue",
                    q.name, q.depth, q.name
                ),
            ));
        }
    }
    for w in workers.iter().filter(|w| !w.alive) {
        out.push(warn(
            None,
            format!(
                "worker '{}' is not alive ({}); its reserved and acks_late messages stay in 'unacked' until the \
                 visibility_timeout passes and another worker restores them",
                w.hostname, w.state
            ),
        ));
    }
    if inf.past_visibility_timeout > 0 {
        out.push(warn(
            None,
            format!(
                "{} in-flight message(s) are older than the visibility_timeout ({} s): they will be redelivered and \
                 may run twice; raise visibility_timeout above the longest task's runtime",
                inf.past_visibility_timeout, inf.visibility_timeout_seconds
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from a real Celery 5.7 client (`send_task(..., compression="gzip")`) on Redis.
    const GZIP: &str = include_str!("celery_fixtures/gzip_message.json");
    const PLAIN: &str = include_str!("celery_fixtures/plain_message.json");

    #[test]
    fn decodes_a_zlib_compressed_protocol_2_message() {
        let d = decode_message(GZIP.trim().as_bytes()).unwrap();
        assert_eq!(d.task.as_deref(), Some("tasks.data"));
        assert_eq!(d.id.as_deref(), Some("ea8c82dd-883c-4db7-9d6f-599e23cf84bb"));
        let body = d.body.unwrap();
        assert_eq!(body[0], serde_json::json!([7]));
        assert_eq!(body[1], serde_json::json!({"k": "v"}));
        assert!(body[2].get("callbacks").is_some());
    }

    #[test]
    fn decodes_a_plain_protocol_2_message() {
        let d = decode_message(PLAIN.trim().as_bytes()).unwrap();
        assert_eq!(d.task.as_deref(), Some("tasks.llm"));
        assert_eq!(d.body.unwrap()[0], serde_json::json!([1]));
        assert!(decode_message(b"not json").is_none());
    }

    #[test]
    fn bucket_names_and_db() {
        assert_eq!(bucket_key("llm_queue", 0), "llm_queue");
        assert_eq!(bucket_key("llm_queue", 6), "llm_queue\x06\x166");
        assert_eq!(queue_of_key("llm_queue\x06\x169"), "llm_queue");
        assert_eq!(db_of("redis://127.0.0.1:6379/3"), 3);
        assert_eq!(db_of("redis://127.0.0.1:6379"), 0);
    }
}
