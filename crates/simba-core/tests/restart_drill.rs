//! Restart drill: the Redis and PostgreSQL servers behind a running service are killed (SIGKILL)
//! and restarted on the same port and data folder, while a stream of cache lookups runs through
//! the engine (on a Redis store, then on a PostgreSQL store) and the overview's status is
//! refreshed. Every cycle must show: no panic, no wrong hit (a hit is only ever the answer stored
//! for that exact question), and recovery without restarting the service within two refresh
//! intervals of the UI's default (5 s): the status reads the server again, and a new answer can be
//! stored and served. SIMBA_DRILL_CYCLES sets the cycles (3 by default; the long run is 50, see
//! docs/reliability/drills.md).

use simba_core::api::Service;
use simba_core::api::StatusRequest;
use simba_core::engine::cache::types::{Lookup, Scope};
use simba_core::engine::cache::SemanticCache;
use simba_core::engine::{Backend, Engine, DEFAULT_REDIS_PREFIX, MODEL_DIR_NAME};
use simba_core::profiles::{ProfileInput, ProfileStore, ResolvedProfile, Service as Svc};
use simba_core::sources::SourceStatus;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The overview's default refresh interval (ui/src/pages/Overview.tsx).
const REFRESH: Duration = Duration::from_secs(5);

fn cycles() -> usize {
    std::env::var("SIMBA_DRILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(3)
}

/// Questions no check lets stand for one another: each names its own figure, subject and number.
const QUESTIONS: [&str; 8] = [
    "How many open support tickets does customer account 4711 have?",
    "What was the average delivery time for orders shipped to Norway in March 2021?",
    "Which warehouse holds the most pallets of product SKU 99812?",
    "What is the refund rate for premium subscriptions bought in 2019?",
    "How much revenue did the Lisbon store make on the first of November?",
    "List the three slowest API endpoints by p99 latency last Tuesday.",
    "What share of invoices above 5000 euros were paid late in Q2?",
    "When did the Berlin data centre last lose power?",
];

fn answer_of(question: &str) -> String {
    format!("the answer to <{question}>")
}

#[derive(Default)]
struct Counts {
    lookups: AtomicU64,
    hits: AtomicU64,
    errors: AtomicU64,
}

/// Looks up the questions in turn, storing the answer after each miss, until told to stop. Panics
/// (failing the drill) on a hit that is not the stored answer of the exact question asked.
fn lookup_stream(cache: Arc<SemanticCache>, stop: Arc<AtomicBool>, counts: Arc<Counts>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let scope = Scope::user("drill");
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let q = QUESTIONS[i % QUESTIONS.len()];
            i += 1;
            counts.lookups.fetch_add(1, Ordering::Relaxed);
            match cache.check_get_cache(q, &scope).await {
                Ok(Lookup::Hit { response, matched_query, .. }) => {
                    assert_eq!(response, answer_of(q), "wrong hit for {q:?} (matched {matched_query:?})");
                    counts.hits.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Lookup::Miss { .. }) => {
                    if cache.update_cache(q, &answer_of(q), &scope, None).await.is_err() {
                        counts.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    counts.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// What the overview shows for the killed server: Ok, or the error's message.
async fn status_of(service: &Service, which: Svc) -> Result<(), String> {
    let report = service
        .status(StatusRequest { profile: Some("drill".into()), top_statements: None })
        .await
        .map_err(|e| format!("status failed as a whole: {}", e.message))?;
    let state = match which {
        Svc::Redis => match report.redis {
            SourceStatus::Ok { .. } => Ok(()),
            SourceStatus::Error { error } => Err(error.message),
            SourceStatus::NotConfigured => Err("not configured".into()),
        },
        _ => match report.postgres {
            SourceStatus::Ok { .. } => Ok(()),
            SourceStatus::Error { error } => Err(error.message),
            SourceStatus::NotConfigured => Err("not configured".into()),
        },
    };
    // The engine's figures come from the killed store too; they must say why, not panic.
    state
}

/// A question asked once per cycle after the restart: stored, then served.
async fn store_and_serve(cache: &SemanticCache, cycle: usize) -> Result<(), String> {
    let q = format!("How many parcels did courier number {} deliver in week {}?", 7000 + cycle, 1 + cycle % 50);
    let scope = Scope::user("probe");
    cache.update_cache(&q, &answer_of(&q), &scope, None).await.map_err(|e| format!("store: {}", e.message))?;
    match cache.check_get_cache(&q, &scope).await.map_err(|e| format!("lookup: {}", e.message))? {
        Lookup::Hit { response, .. } if response == answer_of(&q) => Ok(()),
        Lookup::Hit { response, .. } => panic!("wrong hit for the probe {q:?}: {response:?}"),
        Lookup::Miss { reason, .. } => Err(format!("miss right after storing: {reason}")),
    }
}

/// Kills and restarts one server `cycles` times under the lookup stream and status refreshes.
async fn drill(
    which: Svc,
    backend: Backend,
    profile: ProfileInput,
    mut kill: impl FnMut(),
    mut restart: impl FnMut() -> Result<(), String>,
) {
    let config = tempfile::tempdir().unwrap();
    let model_dir = simba_core::paths::models_dir().join(MODEL_DIR_NAME);
    let service = Service::open(ProfileStore::new(config.path()), Engine::new(model_dir, backend)).unwrap();
    service.save_profile(profile).unwrap();
    let cache = service.engine().cache().await.unwrap_or_else(|e| panic!("{} (run `bash .ci/setup test`)", e.message));
    status_of(&service, which).await.expect("status before the first kill");

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let stream = lookup_stream(cache.clone(), stop.clone(), counts.clone());
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let cycles = cycles();
    for cycle in 0..cycles {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::block_in_place(&mut kill);
        // While it is down: refreshes report the error, lookups miss or fail, nothing panics.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(status_of(&service, which).await.is_err(), "cycle {cycle}: status reads a killed server");
        tokio::task::block_in_place(&mut restart)
            .unwrap_or_else(|e| panic!("cycle {cycle}: the server did not restart: {e}"));
        let back = Instant::now();
        // Refresh faster than the UI does, to measure the recovery time; the bound is the UI's.
        let mut last;
        loop {
            let status = status_of(&service, which).await;
            let probe = match &status {
                Ok(()) => store_and_serve(&cache, cycle).await,
                Err(e) => Err(format!("status: {e}")),
            };
            match probe {
                Ok(()) => break,
                Err(e) => last = e,
            }
            assert!(
                back.elapsed() < 2 * REFRESH,
                "cycle {cycle}: {which:?} not recovered {:?} after the restart without restarting the service: {last}",
                back.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        slowest = slowest.max(back.elapsed());
        assert!(!stream.is_finished(), "cycle {cycle}: the lookup stream stopped (panicked?)");
    }
    stop.store(true, Ordering::Relaxed);
    stream.await.expect("the lookup stream panicked");
    eprintln!(
        "restart drill {which:?}: {cycles} cycles in {:.1?}; slowest recovery {slowest:.2?}; {} lookups, {} hits, {} failed lookups or stores",
        started.elapsed(),
        counts.lookups.load(Ordering::Relaxed),
        counts.hits.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed),
    );
    assert!(counts.hits.load(Ordering::Relaxed) > 0, "the stream never hit: the drill did not exercise the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_drill() {
    let server = Arc::new(std::sync::Mutex::new(simba_testkit::RedisServer::start().unwrap()));
    let url = server.lock().unwrap().url();
    let endpoint =
        ResolvedProfile::ad_hoc(&[(Svc::Redis, url.as_str())]).unwrap().endpoint(Svc::Redis).unwrap().clone();
    let backend = Backend::Redis { endpoint, prefix: DEFAULT_REDIS_PREFIX.into() };
    let profile = ProfileInput { name: "drill".into(), redis_url: Some(url), ..Default::default() };
    let (a, b) = (server.clone(), server.clone());
    drill(
        Svc::Redis,
        backend,
        profile,
        move || a.lock().unwrap().kill(),
        move || b.lock().unwrap().restart().map_err(|e| e.to_string()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_drill() {
    let server = Arc::new(std::sync::Mutex::new(simba_testkit::PostgresServer::start().unwrap()));
    let url = server.lock().unwrap().url();
    let endpoint =
        ResolvedProfile::ad_hoc(&[(Svc::Postgres, url.as_str())]).unwrap().endpoint(Svc::Postgres).unwrap().clone();
    let backend = Backend::Postgres { endpoint };
    let profile = ProfileInput { name: "drill".into(), postgres_url: Some(url), ..Default::default() };
    let (a, b) = (server.clone(), server.clone());
    drill(
        Svc::Postgres,
        backend,
        profile,
        move || a.lock().unwrap().kill(),
        move || b.lock().unwrap().restart().map_err(|e| e.to_string()),
    )
    .await;
}
