//! Celery workers over time, the way Flower knows them: a subscription to the broker's event
//! channel (`PSUBSCRIBE /<db>.celeryev/*`) held for as long as the sampler watches the broker,
//! remembering each worker's last heartbeat. The queue report listens for a bounded window only;
//! history needs to know that a worker that was there stopped beating, which takes memory.
//!
//! Reads only (PSUBSCRIBE). A dropped subscription (broker restarted) is taken up again by itself;
//! until it has listened for two heartbeat intervals again, no worker figure is given rather than
//! a wrong one.

use super::celery::{db_of, decode_event};
use super::redis::redis_error;
use super::{with_timeout, CONNECT_TIMEOUT};
use crate::profiles::Endpoint;
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Celery's default heartbeat interval (`freq` in the events), for workers that do not say theirs.
const DEFAULT_FREQ: Duration = Duration::from_secs(2);
/// A worker missing this many heartbeats is not alive (what the queue report uses too).
const MISSED_BEATS: u32 = 2;
/// How long a lost worker is still counted as lost: long enough for an alert to be seen, not forever.
pub const LOST_KEPT: Duration = Duration::from_secs(3600);
/// Waits between reconnects after the subscription failed.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What the watch knows of the workers now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerCounts {
    pub alive: Vec<String>,
    /// Seen beating, then silent past two heartbeats without a `worker-offline` (killed, its host
    /// gone, its network cut), within [`LOST_KEPT`].
    pub lost: Vec<String>,
    /// Stopped cleanly (`worker-offline`).
    pub offline: Vec<String>,
}

#[derive(Debug, Clone)]
struct Seen {
    /// When its last event arrived here. Our own clock, not the event's timestamp: the worker's
    /// host clock may be off, and only the gap matters.
    last: Instant,
    freq: Duration,
    offline: bool,
}

#[derive(Debug, Default)]
struct WatchState {
    workers: BTreeMap<String, Seen>,
    /// Since when the current subscription has been listening (None while disconnected).
    listening_since: Option<Instant>,
}

/// One broker's heartbeat listener; stops when dropped.
pub struct WorkerWatch {
    state: Arc<Mutex<WatchState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WorkerWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WorkerWatch {
    /// Starts listening on the broker of `endpoint` (on the current tokio runtime).
    pub fn start(endpoint: &Endpoint) -> Self {
        let state = Arc::new(Mutex::new(WatchState::default()));
        let task = tokio::spawn(listen(endpoint.clone(), state.clone()));
        Self { state, task }
    }

    /// The workers as known now, or None while the watch has not listened long enough to tell
    /// (just started, or reconnecting): then the sampler records no worker figure.
    pub fn counts(&self) -> Option<WorkerCounts> {
        self.counts_at(Instant::now())
    }

    fn counts_at(&self, now: Instant) -> Option<WorkerCounts> {
        let state = self.state.lock();
        let listening = now.saturating_duration_since(state.listening_since?);
        if listening < DEFAULT_FREQ * MISSED_BEATS + Duration::from_secs(1) {
            return None;
        }
        let mut counts = WorkerCounts::default();
        for (host, seen) in &state.workers {
            let silent = now.saturating_duration_since(seen.last);
            let window = seen.freq * MISSED_BEATS;
            if seen.offline {
                counts.offline.push(host.clone());
            } else if silent < window {
                counts.alive.push(host.clone());
            } else if silent < LOST_KEPT && listening >= window {
                // Heard for the whole window and nothing came: lost, not just unheard.
                counts.lost.push(host.clone());
            }
        }
        Some(counts)
    }

    /// Takes in one decoded event (the listener's path, and the tests').
    fn take(state: &Mutex<WatchState>, event: &Json, at: Instant) {
        let kind = event.get("type").and_then(Json::as_str).unwrap_or("");
        let Some(kind) = kind.strip_prefix("worker-") else { return };
        let Some(host) = event.get("hostname").and_then(Json::as_str) else { return };
        let freq = event
            .get("freq")
            .and_then(Json::as_f64)
            .filter(|f| f.is_finite() && *f > 0.0 && *f < 3600.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_FREQ);
        let mut state = state.lock();
        state.workers.insert(host.to_string(), Seen { last: at, freq, offline: kind == "offline" });
        // Hosts gone for longer than they are reported are forgotten, so the map stays small.
        state.workers.retain(|_, s| at.saturating_duration_since(s.last) < LOST_KEPT);
    }
}

async fn listen(endpoint: Endpoint, state: Arc<Mutex<WatchState>>) {
    let db = db_of(endpoint.url.expose());
    let mut wait = RETRY_MIN;
    loop {
        let failure = match subscribe(&endpoint, db).await {
            Ok(mut pubsub) => {
                state.lock().listening_since = Some(Instant::now());
                wait = RETRY_MIN;
                let mut stream = pubsub.on_message();
                while let Some(msg) = stream.next().await {
                    if let Some(event) = decode_event(msg.get_payload_bytes()) {
                        WorkerWatch::take(&state, &event, Instant::now());
                    }
                }
                format!("the event subscription to {} ended (the broker closed it)", endpoint.display)
            }
            Err(message) => message,
        };
        state.lock().listening_since = None;
        // The samples carry no worker figure meanwhile; the log says why.
        tracing::warn!("worker heartbeats: {failure}; trying again in {} s", wait.as_secs());
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RETRY_MAX);
    }
}

async fn subscribe(endpoint: &Endpoint, db: i64) -> Result<redis::aio::PubSub, String> {
    let client = redis::Client::open(endpoint.url.expose())
        .map_err(|e| format!("Redis URL {} is not usable: {e}", endpoint.display))?;
    let mut pubsub = with_timeout(&format!("Redis at {}", endpoint.display), CONNECT_TIMEOUT, async {
        client.get_async_pubsub().await.map_err(|e| redis_error(&endpoint.display, &e))
    })
    .await
    .map_err(|e| e.message)?;
    pubsub.psubscribe(format!("/{db}.celeryev/*")).await.map_err(|e| redis_error(&endpoint.display, &e).message)?;
    Ok(pubsub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn watch_listening_since(at: Instant) -> WorkerWatch {
        let state = Arc::new(Mutex::new(WatchState { listening_since: Some(at), ..Default::default() }));
        // A task that does nothing: these tests feed events by hand.
        let task = tokio::spawn(async {});
        WorkerWatch { state, task }
    }

    #[tokio::test]
    async fn alive_lost_and_offline_from_heartbeats() {
        // Too soon after the subscription started to tell anything.
        let t0 = Instant::now();
        assert_eq!(watch_listening_since(t0).counts_at(t0 + Duration::from_secs(1)), None);
        // Listening for a while already.
        let w = watch_listening_since(t0.checked_sub(Duration::from_secs(60)).unwrap());
        let beat = |host: &str| json!({"type": "worker-heartbeat", "hostname": host, "freq": 2.0});
        WorkerWatch::take(&w.state, &beat("a@x"), t0);
        WorkerWatch::take(&w.state, &beat("b@x"), t0);
        WorkerWatch::take(&w.state, &json!({"type": "task-received", "hostname": "c@x"}), t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let c = w.counts_at(at(1)).unwrap();
        assert_eq!((c.alive.len(), c.lost.len()), (2, 0), "{c:?}");
        // b keeps beating, a goes silent past two heartbeats; later a says goodbye properly.
        WorkerWatch::take(&w.state, &beat("b@x"), at(4));
        let c = w.counts_at(at(5)).unwrap();
        assert_eq!((c.alive, c.lost), (vec!["b@x".to_string()], vec!["a@x".to_string()]));
        WorkerWatch::take(&w.state, &json!({"type": "worker-offline", "hostname": "a@x"}), at(6));
        let c = w.counts_at(at(7)).unwrap();
        assert_eq!((c.lost.len(), c.offline), (0, vec!["a@x".to_string()]));
        // Lost past LOST_KEPT: no longer counted.
        let c = w.counts_at(at(4) + LOST_KEPT + Duration::from_secs(1)).unwrap();
        assert!(c.lost.is_empty() && c.alive.is_empty(), "{c:?}");
    }

    #[tokio::test]
    async fn a_worker_unheard_only_because_the_watch_reconnected_is_not_lost() {
        let t0 = Instant::now();
        let w = watch_listening_since(t0);
        // A slow heartbeat (freq 10 s) seen 1 s before; the watch has listened 5 s only.
        WorkerWatch::take(&w.state, &json!({"type": "worker-heartbeat", "hostname": "slow@x", "freq": 10.0}), t0);
        w.state.lock().listening_since = Some(t0 + Duration::from_secs(25));
        let c = w.counts_at(t0 + Duration::from_secs(30)).unwrap();
        assert!(c.alive.is_empty() && c.lost.is_empty(), "{c:?}");
        // Disconnected: nothing said at all.
        w.state.lock().listening_since = None;
        assert_eq!(w.counts_at(t0 + Duration::from_secs(31)), None);
    }
}
